"""Jobs of the audit app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from audit.services import (
    audit_checkpoint_publish,
    audit_denial_windows_prune,
    audit_seal,
    audit_trail_check,
)

logger = logging.getLogger(__name__)

# Procrastinate reads cron in UTC: 21:15 UTC is 02:15 in Pakistan (PKT, UTC+5, no DST).
VERIFY_CHAIN_CRON = "15 21 * * *"
SEAL_CRON = "* * * * *"


@app.periodic(cron=VERIFY_CHAIN_CRON)
@app.task(name="audit.verify_chain", queue="maintenance")
def verify_chain(timestamp: int) -> bool:
    """Nightly: verify the whole trail, record the verdict in the trail, and log an ERROR
    naming every problem (ids and counts only) so that monitoring raises it.

    ``timestamp`` is the scheduled time procrastinate passes to periodic tasks. Returns
    whether the trail is intact.
    """
    report = audit_trail_check()
    if not report.ok:
        logger.error("audit trail BROKEN: %s", "; ".join(report.problems))
        return False
    logger.info("audit trail OK: %s events, %s seals", report.events, report.seals)
    return True


@app.periodic(cron=SEAL_CRON)
@app.task(name="audit.seal_and_checkpoint", queue="maintenance", queueing_lock="audit.seal")
def seal_and_checkpoint(timestamp: int) -> int | None:
    """Every minute: seal and publish a checkpoint, so the trail is sealed and anchored at
    least once a minute even when the ``audit_sealer`` process (every quarter second) is down."""
    seal = audit_seal()
    audit_checkpoint_publish()
    return seal.seq if seal else None


@app.periodic(cron="40 21 * * *")
@app.task(name="audit.prune_denial_windows", queue="maintenance")
def prune_denial_windows(timestamp: int) -> int:
    """Nightly: drop refusal counters older than a day."""
    return audit_denial_windows_prune()
