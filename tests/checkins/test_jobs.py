"""The periodic jobs run the services (scheduled in UTC, reading Pakistan days)."""

from datetime import timedelta

from django.utils import timezone

from checkins.jobs import send_reminders, sweep_missed
from compliance.models import Violation
from push.models import SmsMessage
from tests.checkins.conftest import supervised_offender


def test_the_hourly_sweep_raises_missed_checkins(world):
    supervised_offender(world, next_checkin_due=timezone.localdate() - timedelta(days=5))
    assert sweep_missed(timestamp=0) == {"missed": 1, "escalated": 0}
    assert sweep_missed(timestamp=0) == {"missed": 0, "escalated": 0}
    assert Violation.objects.count() == 1


def test_the_daily_job_sends_reminders(world):
    supervised_offender(world, next_checkin_due=timezone.localdate() + timedelta(days=1))
    assert send_reminders(timestamp=0) == 1
    assert SmsMessage.objects.filter(purpose="checkin_reminder").count() == 1
