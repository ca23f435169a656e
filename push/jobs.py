"""Jobs of the push app: SMS and push delivery, their sweeps, and the nightly prunes
(receipt signatures, SMS out of the queue, alert-stream events, websocket tickets, final
pushes).

Delivery retries are scheduled by ``push.services`` itself (the row's ``next_attempt_at`` and a
job deferred at that time), not by a procrastinate RetryStrategy: the outbox row is the one
source of truth about attempts, and the sweep can rebuild any lost job from it.
"""

import logging

from procrastinate.contrib.django import app

from push import services

logger = logging.getLogger(__name__)

SMS_QUEUE = "sms"

# Procrastinate reads cron in UTC. The sweep runs every minute: it is what bounds how long a
# message can wait after a worker died.
SMS_SWEEP_CRON = "* * * * *"
# 22:05 UTC is 03:05 in Pakistan (PKT, UTC+5), clear of the other nightly jobs.
PRUNE_RECEIPT_SIGNATURES_CRON = "5 22 * * *"


@app.task(name="push.deliver_sms", queue=SMS_QUEUE)
def deliver_sms(message_id: int) -> str:
    """Hand one outbox message to the gateway; see ``services.sms_deliver``."""
    return services.sms_deliver(message_id=message_id)


@app.periodic(cron=SMS_SWEEP_CRON)
@app.task(name="push.sweep_sms", queue=SMS_QUEUE)
def sweep_sms(timestamp: int) -> dict[str, int]:
    """Every minute: hand on messages of dead workers, expire unsent ones past their expiry
    (wiping sensitive texts), re-defer queued ones whose job was lost."""
    return services.sms_sweep()


@app.periodic(cron=PRUNE_RECEIPT_SIGNATURES_CRON)
@app.task(name="push.prune_receipt_signatures", queue="maintenance")
def prune_receipt_signatures(timestamp: int) -> int:
    """Daily: forget receipt signatures past twice the max age (refused as stale anyway)."""
    deleted = services.sms_receipt_signatures_prune()
    logger.info("pruned %s receipt signatures", deleted)
    return deleted


# 22:10 UTC is 03:10 in Pakistan, between the receipt signatures and the alert events.
PRUNE_SMS_CRON = "10 22 * * *"


@app.periodic(cron=PRUNE_SMS_CRON)
@app.task(name="push.prune_sms", queue="maintenance")
def prune_sms(timestamp: int) -> int:
    """Daily: delete SMS out of the queue for longer than ``NIGRANI_SMS_RETENTION_DAYS``
    (never queued or sending ones)."""
    deleted = services.sms_messages_prune()
    logger.info("pruned %s SMS past retention", deleted)
    return deleted


# 22:15–22:25 UTC is 03:15–03:25 in Pakistan, after the receipt signatures and before the
# verification scheduler (22:30).
PRUNE_ALERT_EVENTS_CRON = "15 22 * * *"
PRUNE_WS_TICKETS_CRON = "20 22 * * *"
PRUNE_PUSHES_CRON = "25 22 * * *"


@app.periodic(cron=PRUNE_ALERT_EVENTS_CRON)
@app.task(name="push.prune_alert_events", queue="maintenance")
def prune_alert_events(timestamp: int) -> int:
    """Daily: delete alert-stream events past ``NIGRANI_ALERT_EVENT_RETENTION_DAYS`` (a
    socket resuming from before them is told to resync)."""
    from push import alert_stream

    deleted = alert_stream.alert_events_prune()
    logger.info("pruned %s alert events past retention", deleted)
    return deleted


@app.periodic(cron=PRUNE_WS_TICKETS_CRON)
@app.task(name="push.prune_ws_tickets", queue="maintenance")
def prune_ws_tickets(timestamp: int) -> int:
    """Daily: delete websocket tickets expired (used or not) more than a day ago."""
    from push import alert_stream

    deleted = alert_stream.ws_tickets_prune()
    logger.info("pruned %s websocket tickets", deleted)
    return deleted


@app.periodic(cron=PRUNE_PUSHES_CRON)
@app.task(name="push.prune_pushes", queue="maintenance")
def prune_pushes(timestamp: int) -> int:
    """Daily: delete pushes final for longer than ``NIGRANI_PUSH_RETENTION_DAYS``."""
    from push import pushes

    deleted = pushes.push_messages_prune()
    logger.info("pruned %s pushes past retention", deleted)
    return deleted


PUSH_QUEUE = "push"
PUSH_SWEEP_CRON = "* * * * *"
# One job drains at most this many batches; more work defers a follow-up job.
_BATCHES_PER_JOB = 20


@app.task(name="push.deliver_pushes", queue=PUSH_QUEUE)
def deliver_pushes() -> dict[str, int]:
    """Send due pushes in batches of ≤ 500 until none is due, then schedule a job for the
    earliest retry, if any (see ``push.pushes``)."""
    from django.utils import timezone

    from push import pushes

    totals: dict[str, int] = {}
    for _ in range(_BATCHES_PER_JOB):
        counts = pushes.push_deliver_batch()
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if not counts["claimed"]:
            break
    else:
        deliver_pushes.defer()
        return totals
    due = pushes.push_next_due()
    if due is not None:
        deliver_pushes.configure(schedule_at=max(due, timezone.now())).defer()
    return totals


@app.periodic(cron=PUSH_SWEEP_CRON)
@app.task(name="push.sweep_pushes", queue=PUSH_QUEUE)
def sweep_pushes(timestamp: int) -> int:
    """Every minute: queue again pushes of dead workers and make sure due ones have a job."""
    from push import pushes

    requeued = pushes.push_sweep()
    if requeued or pushes.push_next_due() is not None:
        deliver_pushes.defer()
    return requeued
