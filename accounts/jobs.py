"""Jobs of the accounts app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from accounts.services import login_attempt_prune

logger = logging.getLogger(__name__)

# Procrastinate reads cron in UTC: 21:45 UTC is 02:45 in Pakistan (PKT, UTC+5, no DST), clear
# of the audit chain walk at 02:15.
PRUNE_LOGIN_ATTEMPTS_CRON = "45 21 * * *"


@app.periodic(cron=PRUNE_LOGIN_ATTEMPTS_CRON)
@app.task(name="accounts.prune_login_attempts", queue="maintenance")
def prune_login_attempts(timestamp: int) -> int:
    """Daily: delete sign-in attempts past their retention. ``timestamp`` is the scheduled
    time procrastinate passes to periodic tasks. Returns how many rows went."""
    deleted = login_attempt_prune()
    logger.info("pruned %s login attempts past retention", deleted)
    return deleted
