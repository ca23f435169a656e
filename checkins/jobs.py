"""Jobs of the check-ins app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from checkins.services.counter import challenges_expire
from checkins.services.notice_confirmation import notice_challenges_expire
from checkins.services.schedule import checkin_reminders_send, missed_checkins_sweep

logger = logging.getLogger(__name__)

# Procrastinate reads cron in UTC. 04:00 UTC is 09:00 in Pakistan (PKT, UTC+5, no DST): a
# reminder arrives in the morning. The sweep runs hourly, so a period is raised soon after its
# grace ends (Pakistan midnight) whatever time the workers were down.
REMINDERS_CRON = "0 4 * * *"
MISSED_SWEEP_CRON = "20 * * * *"
# Abandoned OTP challenges: their secret is erased within minutes of the code's expiry.
EXPIRE_CHALLENGES_CRON = "*/5 * * * *"


@app.periodic(cron=REMINDERS_CRON)
@app.task(name="checkins.send_reminders", queue="checkins")
def send_reminders(timestamp: int) -> int:
    """Daily: enqueue the check-in reminder SMS due today (each once)."""
    sent = checkin_reminders_send()
    logger.info("check-in reminders enqueued: %s", sent)
    return sent


@app.periodic(cron=MISSED_SWEEP_CRON)
@app.task(name="checkins.sweep_missed", queue="checkins")
def sweep_missed(timestamp: int) -> dict[str, int]:
    """Hourly: raise missed-check-in violations and escalations (idempotent)."""
    result = missed_checkins_sweep()
    logger.info("missed check-ins: %s new, %s escalated", result.missed, result.escalated)
    return {"missed": result.missed, "escalated": result.escalated}


@app.periodic(cron=EXPIRE_CHALLENGES_CRON)
@app.task(name="checkins.expire_challenges", queue="checkins")
def expire_challenges(timestamp: int) -> int:
    """Every five minutes: end the challenges whose code expired unused (secret erased)."""
    expired = challenges_expire()
    notices = notice_challenges_expire()
    logger.info("check-in challenges expired: %s; notice challenges: %s", expired, notices)
    return expired + notices
