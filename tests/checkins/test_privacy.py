"""The code is never in logs, audit events, responses or the SMS outbox after hand-over; the
CNIC presented at the counter is never echoed or audited."""

import json
import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from checkins.models import OtpChallenge
from push.models import SmsMessage, SmsStatus
from push.services import sms_deliver
from tests.checkins.conftest import AT_STATION, UNCHANGED, sent_code, verify, wrong


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates here
    return caplog


def _everything_logged(caplog) -> str:
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.args!r} {record.__dict__!r}"
        for record in caplog.records
    )


def test_the_code_is_never_logged_audited_returned_or_kept(
    all_logs, client_for, station_officer, offender, capsys
):
    client = client_for(station_officer)
    started = client.post(
        "/api/v1/checkins/",
        {"offender": offender.pk, "location": AT_STATION.__dict__},
        format="json",
    )
    assert started.status_code == 201
    checkin_id = started.json()["id"]
    codes = [sent_code(checkin_id)]
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        resent = client.post(f"/api/v1/checkins/{checkin_id}/resend/")
        assert resent.status_code == 200
        codes.append(sent_code(checkin_id))
        # The worker hands the current SMS to the gateway (console backend in tests).
        current = SmsMessage.objects.filter(purpose="checkin_otp").latest("id")
        assert sms_deliver(message_id=current.pk) == "sent"
        refused = client.post(
            f"/api/v1/checkins/{checkin_id}/verify/",
            {"code": wrong(codes[1]), "unchanged": True},
            format="json",
        )
        assert refused.status_code == 400
        confirmed = client.post(
            f"/api/v1/checkins/{checkin_id}/verify/",
            {"code": codes[1], "unchanged": True},
            format="json",
        )
        assert confirmed.status_code == 200
    capsys.readouterr()  # the console backend prints the SMS (development), not a log

    responses = json.dumps([r.json() for r in (started, resent, refused, confirmed)])
    logged = _everything_logged(all_logs)
    audited = json.dumps(list(AuditEvent.objects.values()), default=str)
    challenge = OtpChallenge.objects.get(checkin_id=checkin_id)
    outbox = list(SmsMessage.objects.filter(purpose="checkin_otp").order_by("id"))
    assert [m.status for m in outbox] == [SmsStatus.CANCELLED, SmsStatus.SENT]
    assert [m.text for m in outbox] == ["", ""]  # wiped: superseded, then handed over
    assert challenge.secret == ""
    assert "checkin" in audited  # the captures did capture
    assert "sms" in logged
    for code in codes:
        for where, text in (("logs", logged), ("audit", audited), ("responses", responses)):
            assert not re.search(rf"\b{code}\b", text), f"code found in {where}"
    for protected in (offender.phone, offender.cnic, offender.full_name, "1234567"):
        assert protected not in logged
        assert protected not in audited


def test_the_cnic_presented_is_neither_echoed_nor_audited(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        "/api/v1/checkins/", {"cnic": offender.cnic, "location": AT_STATION.__dict__}, format="json"
    )
    assert response.status_code == 201
    assert offender.cnic not in response.content.decode()
    digits = offender.cnic.replace("-", "")
    audited = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert offender.cnic not in audited
    assert digits not in audited


def test_the_phone_is_shown_only_as_a_hint(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        "/api/v1/checkins/",
        {"offender": offender.pk, "location": AT_STATION.__dict__},
        format="json",
    )
    body = response.json()
    assert body["phone_hint"] == "+92 3** ***4567"
    assert "3001234567" not in response.content.decode()


def test_verify_service_keeps_no_code_on_the_challenge(station_officer, offender):
    from tests.checkins.conftest import start

    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    stored = json.dumps(list(OtpChallenge.objects.values()), default=str)
    assert code not in stored
    verify(station_officer, checkin, code, UNCHANGED)
