"""Jobs of the geofence app (procrastinate, discovered as every app's ``jobs.py``)."""

import logging
from datetime import timedelta

from django.utils import timezone
from procrastinate.contrib.django import app

from geofence.models import PingBatchReceipt
from geofence.services.partitions import partitions_create_ahead, partitions_drop_expired
from geofence.services.sweeps import schedule_sweep, tag_offline_sweep
from geofence.services.travel import overdue_returns_sweep

logger = logging.getLogger(__name__)

# Partitions: created ahead and expired ones dropped nightly (01:30 UTC, 06:30 PKT, a quiet
# hour); silent tags every minute (the 15-minute rule is then late by at most a minute); the
# schedule sweep every minute (a school zone starting at 08:00 is in force by 08:01);
# overdue returns hourly.
PARTITIONS_CRON = "30 1 * * *"
EVERY_MINUTE = "* * * * *"
OVERDUE_CRON = "40 * * * *"
RECEIPT_KEEP = timedelta(days=2)


@app.periodic(cron=PARTITIONS_CRON)
@app.task(name="geofence.partitions", queue="geofence")
def partitions(timestamp: int) -> dict[str, int]:
    """Nightly: pings partitions ahead, whole partitions past retention dropped."""
    created = partitions_create_ahead()
    dropped = partitions_drop_expired()
    receipts, _ = PingBatchReceipt.objects.filter(
        created_at__lt=timezone.now() - RECEIPT_KEEP
    ).delete()
    logger.info("ping partitions: %s created, %s dropped", created, len(dropped))
    return {"created": created, "dropped": len(dropped), "receipts": receipts}


@app.periodic(cron=EVERY_MINUTE)
@app.task(name="geofence.tag_offline", queue="geofence")
def tag_offline(timestamp: int) -> int:
    return tag_offline_sweep().raised


@app.periodic(cron=EVERY_MINUTE, periodic_id="schedule")
@app.task(name="geofence.schedule_sweep", queue="geofence")
def schedules(timestamp: int) -> dict[str, int]:
    opened, ended = schedule_sweep()
    return {"opened": opened, "ended": ended}


@app.periodic(cron=OVERDUE_CRON)
@app.task(name="geofence.overdue_returns", queue="geofence")
def overdue_returns(timestamp: int) -> int:
    return overdue_returns_sweep().raised
