"""Jobs of the register (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from registry.services.lookup import counter_lookups_prune

logger = logging.getLogger(__name__)


@app.periodic(cron="*/30 * * * *")
@app.task(name="registry.prune_counter_lookups", queue="maintenance")
def prune_counter_lookups(timestamp: int) -> int:
    """Every half hour: drop counter-lookup records past the limits' window (they only count
    towards the rate limits; the audit trail keeps every lookup)."""
    deleted = counter_lookups_prune()
    logger.info("pruned %s counter lookups past the window", deleted)
    return deleted
