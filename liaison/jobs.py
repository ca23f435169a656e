"""Jobs of the liaison app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from liaison.services import registration_end_announce

logger = logging.getLogger(__name__)

# 03:30 UTC is 08:30 in Pakistan: the NPB and the districts find it at the start of the day.
REGISTRATION_END_CRON = "30 3 * * *"


@app.periodic(cron=REGISTRATION_END_CRON)
@app.task(name="liaison.announce_registration_ends", queue="liaison")
def announce_registration_ends(timestamp: int) -> int:
    """Daily: tell the NPB and the district of registrations ending within 30 days (each once)."""
    announced = registration_end_announce()
    logger.info("registration ends announced: %s", announced)
    return announced
