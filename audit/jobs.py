"""Jobs of the audit app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from audit.services import audit_chain_check

logger = logging.getLogger(__name__)

# Procrastinate reads cron in UTC: 21:15 UTC is 02:15 in Pakistan (PKT, UTC+5, no DST).
VERIFY_CHAIN_CRON = "15 21 * * *"


@app.periodic(cron=VERIFY_CHAIN_CRON)
@app.task(name="audit.verify_chain", queue="maintenance")
def verify_chain(timestamp: int) -> bool:
    """Nightly: walk the whole hash chain, record the verdict in the trail, and log an ERROR
    naming the first broken event (ids and counts only) so that monitoring raises it.

    ``timestamp`` is the scheduled time procrastinate passes to periodic tasks. Returns
    whether the chain is intact.
    """
    report = audit_chain_check()
    if report.first_break is not None:
        logger.error(
            "audit chain BROKEN at event %s: %s (%s events verified before it)",
            report.first_break.event_id,
            report.first_break.reason,
            report.verified,
        )
        return False
    logger.info("audit chain OK: %s events", report.count)
    return True
