"""Jobs of the compliance app (procrastinate, through the Django contrib app's connection, so a
job deferred inside a transaction exists only if that transaction commits)."""

import logging

from django.db import InterfaceError, OperationalError
from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from compliance.models import Violation, ViolationStatus

logger = logging.getLogger(__name__)

ALERT_PENDING = "pending"
ALERT_SKIPPED = "skipped"

# Database blips are worth retrying; a missing violation is not (the job is deferred in the
# transaction that creates it, so it cannot legitimately be missing).
_ALERT_RETRY = RetryStrategy(
    max_attempts=8, exponential_wait=2, retry_exceptions={OperationalError, InterfaceError}
)


@app.task(name="compliance.deliver_violation_alert", queue="alerts", retry=_ALERT_RETRY)
def deliver_violation_alert(violation_id: int) -> str:
    """The worker's record of a newly raised alert.

    Delivery itself needs no work here: the raise's transaction already wrote the ladder's
    first notices, the pushes (``push.PushMessage``, sent by ``push.deliver_pushes``) and the
    stream events (broadcast after commit, backfilled from the rows). This job loads the
    violation, skips one that officers closed before the worker got to it, and logs that its
    delivery is under way. Logs carry ids and codes only, never the offender's identity.
    """
    violation = Violation.objects.only("id", "kind", "severity", "status", "district_id").get(
        pk=violation_id
    )
    if violation.status in (ViolationStatus.RESOLVED, ViolationStatus.DISMISSED):
        logger.info("violation %s is %s: no alert to deliver", violation.pk, violation.status)
        return ALERT_SKIPPED
    logger.info(
        "violation %s kind=%s severity=%s district=%s: alert delivery pending",
        violation.pk,
        violation.kind,
        violation.severity,
        violation.district_id,
    )
    return ALERT_PENDING


# Every minute: the shortest acknowledgement deadline (critical, 2 minutes) is then late by at
# most a minute. Procrastinate reads cron in UTC.
ESCALATION_SWEEP_CRON = "* * * * *"


@app.periodic(cron=ESCALATION_SWEEP_CRON)
@app.task(name="compliance.sweep_escalations", queue="alerts", retry=_ALERT_RETRY)
def sweep_escalations(timestamp: int) -> dict[str, int]:
    """Climb every alert past its deadline one step (set-based); see
    ``compliance.alerts.alert_escalation_sweep``."""
    from compliance.alerts import alert_escalation_sweep

    result = alert_escalation_sweep()
    if result["escalated"] or result["reopened"]:
        logger.info("escalation sweep: %s", result)
    return result


@app.task(name="compliance.alert_sms_fallback", queue="alerts", retry=_ALERT_RETRY)
def alert_sms_fallback_job(violation_id: int, level: int, repeat: int) -> int:
    """A critical alert's step, some time after its push: SMS if still unacknowledged."""
    from compliance.alerts import alert_sms_fallback

    return alert_sms_fallback(violation_id=violation_id, level=level, repeat=repeat)
