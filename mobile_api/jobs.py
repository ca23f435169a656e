"""Jobs of field verification (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from mobile_api.services.tasks import task_changes_prune, verification_schedule

logger = logging.getLogger(__name__)

# Procrastinate reads cron in UTC: 22:30 UTC is 03:30 in Pakistan (PKT, UTC+5, no DST), after
# the audit chain walk and the login prune, before the morning shift syncs its lists.
SCHEDULE_VERIFICATIONS_CRON = "30 22 * * *"


@app.periodic(cron=SCHEDULE_VERIFICATIONS_CRON)
@app.task(name="mobile_api.schedule_verifications", queue="maintenance")
def schedule_verifications(timestamp: int) -> int:
    """Daily: open the periodic verification tasks falling due within the lead time (spread
    per offender) and cancel tasks of offenders no longer active. ``timestamp`` is the
    scheduled time procrastinate passes to periodic tasks. Also prunes the sync change log
    past the cursors' lifetime. Returns how many tasks were created."""
    report = verification_schedule()
    pruned = task_changes_prune()
    logger.info(
        "verification schedule: %s tasks created, %s cancelled, %s change rows pruned",
        report.created,
        report.cancelled,
        pruned,
    )
    return report.created
