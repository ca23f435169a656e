"""The periodic jobs run the services (scheduled in UTC, reading Pakistan days)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from checkins.jobs import expire_challenges, send_reminders, sweep_missed
from checkins.models import ChallengeState, Checkin, CheckinStatus, OtpChallenge
from checkins.services.counter import ChallengeExpired
from compliance.models import Violation
from push.models import SmsMessage, SmsStatus
from tests.checkins.conftest import start, supervised_offender, verify


def test_the_hourly_sweep_raises_missed_checkins(world):
    supervised_offender(world, next_checkin_due=timezone.localdate() - timedelta(days=5))
    assert sweep_missed(timestamp=0) == {"missed": 1, "escalated": 0}
    assert sweep_missed(timestamp=0) == {"missed": 0, "escalated": 0}
    assert Violation.objects.count() == 1


def test_the_daily_job_sends_reminders(world):
    supervised_offender(world, next_checkin_due=timezone.localdate() + timedelta(days=1))
    assert send_reminders(timestamp=0) == 1
    assert SmsMessage.objects.filter(purpose="checkin_reminder").count() == 1


def test_abandoned_challenges_expire_and_lose_their_secret(world, station_officer):
    abandoned = start(station_officer, supervised_offender(world))
    fresh_offender = supervised_offender(world)
    message = SmsMessage.objects.get(purpose="checkin_otp", offender_id=abandoned.offender_id)
    assert message.status == SmsStatus.QUEUED

    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        fresh = start(station_officer, fresh_offender)
        assert expire_challenges(timestamp=0) == 1
        assert expire_challenges(timestamp=0) == 0

    challenge = OtpChallenge.objects.get(checkin=abandoned)
    assert (challenge.state, challenge.secret) == (ChallengeState.EXPIRED, "")
    assert challenge.ended_at is not None
    assert Checkin.objects.get(pk=abandoned.pk).status == CheckinStatus.EXPIRED
    message.refresh_from_db()
    assert (message.status, message.text) == (SmsStatus.CANCELLED, "")
    # The one still within its lifetime is untouched.
    assert OtpChallenge.objects.get(checkin=fresh).state == ChallengeState.OPEN
    assert OtpChallenge.objects.get(checkin=fresh).secret != ""
    assert Checkin.objects.get(pk=fresh.pk).status == CheckinStatus.OTP_SENT
    event = AuditEvent.objects.filter(object_type="checkin", outcome="expired").get()
    assert event.details == {"to": "expired", "count": 1, "checkin_ids": [abandoned.pk]}
    # The officer coming back to it later is told it expired.
    with pytest.raises(ChallengeExpired):
        verify(station_officer, abandoned, "000000")
