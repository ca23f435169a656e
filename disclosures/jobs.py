"""Jobs of the disclosures app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging

from procrastinate.contrib.django import app

from disclosures.services.requests import records_requests_clock_sweep

logger = logging.getLogger(__name__)

# Every 10 minutes (cron in UTC): a prosecutor is reminded within ten minutes of a request's
# 48 hours running out, and the NPB told as soon after the escalation delay.
CLOCK_SWEEP_CRON = "*/10 * * * *"


@app.periodic(cron=CLOCK_SWEEP_CRON)
@app.task(name="disclosures.records_request_clock", queue="disclosures")
def records_request_clock(timestamp: int) -> dict[str, int]:
    """Remind prosecutors of overdue records requests, escalate the long-overdue to the NPB."""
    return records_requests_clock_sweep()
