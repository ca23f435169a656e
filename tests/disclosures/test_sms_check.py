"""The public SMS CNIC check: switch, signature, replay, digit formats, identical neutral
answers, warnings, help, quotas, ceiling, each enumeration detector, and no number stored."""

import json
import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from disclosures import selectors
from disclosures.models import SecurityEvent, SmsCheck, SmsSender
from disclosures.services.sms_check import sms_check_handle
from push import services as push_services
from push.models import Notification, SmsMessage
from registry.identifiers import cnic_blind_index
from registry.models import OffenderStatus
from tests.factories import OffenderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/sms/inbound/"
SECRET = "gateway-shared-secret"
SENDER = "+923331234567"
CNIC = "35202-1234567-1"
URDU = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture(autouse=True)
def switched_on(settings):
    settings.NIGRANI_SMS_CHECK_ENABLED = True
    settings.NIGRANI_SMS_RECEIPT_SECRET = SECRET
    return settings


def _registrant(world, cnic=CNIC, status=OffenderStatus.ACTIVE, **fields):
    return OffenderFactory(
        district=world.lahore,
        cnic=cnic,
        cnic_index=cnic_blind_index(cnic),
        status=status,
        full_name="Imtiaz Ahmed",
        father_name="Ghulam Rasool",
        full_name_ur=fields.pop("full_name_ur", "امتیاز احمد"),
        father_name_ur=fields.pop("father_name_ur", "غلام رسول"),
        **fields,
    )


def _post(api_client, body: dict, *, timestamp=None, signature=None):
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    if signature is None:
        signature = push_services.receipt_signature(secret=SECRET, timestamp=timestamp, body=raw)
    headers = {}
    if timestamp:
        headers["HTTP_X_NIGRANI_TIMESTAMP"] = timestamp
    if signature:
        headers["HTTP_X_NIGRANI_SIGNATURE"] = signature
    return api_client.post(URL, raw, content_type="application/json", **headers)


def _replies(to=SENDER):
    return SmsMessage.objects.filter(to_index=push_services.sms_to_index(to)).order_by("id")


def _check(text, sender=SENDER):
    return sms_check_handle(sender=sender, text=text)


# --- the switch, the signature ----------------------------------------------------------------


def test_off_by_default_the_endpoint_does_not_exist(api_client, settings):
    settings.NIGRANI_SMS_CHECK_ENABLED = False
    response = _post(api_client, {"sender": SENDER, "text": CNIC})
    assert response.status_code == 404
    assert not SmsMessage.objects.exists()
    assert not SmsSender.objects.exists()


def test_off_by_default_in_the_settings_module():
    from backend import settings as base

    assert base.NIGRANI_SMS_CHECK_ENABLED is False


def test_a_signed_message_is_answered(api_client, world):
    _registrant(world)
    response = _post(api_client, {"sender": SENDER, "text": CNIC})
    assert response.status_code == 200
    assert response.json() == {"accepted": True}
    assert _replies().count() == 1


def test_unsigned_wrong_and_stale_signatures_are_refused(api_client):
    assert _post(api_client, {"sender": SENDER, "text": CNIC}, signature="").status_code == 401
    assert (
        _post(api_client, {"sender": SENDER, "text": CNIC}, signature="ab" * 32).status_code == 403
    )
    stale = str(int(time.time()) - 301)
    response = _post(api_client, {"sender": SENDER, "text": CNIC}, timestamp=stale)
    assert response.status_code == 403
    assert response.json()["code"] == "stale_signature"
    assert not SmsMessage.objects.exists()


def test_a_replayed_message_is_refused(api_client):
    raw = json.dumps({"sender": SENDER, "text": CNIC}).encode()
    timestamp = str(int(time.time()))
    signature = push_services.receipt_signature(secret=SECRET, timestamp=timestamp, body=raw)
    headers = {"HTTP_X_NIGRANI_TIMESTAMP": timestamp, "HTTP_X_NIGRANI_SIGNATURE": signature}
    first = api_client.post(URL, raw, content_type="application/json", **headers)
    again = api_client.post(URL, raw, content_type="application/json", **headers)
    assert first.status_code == 200
    assert again.status_code == 403
    assert again.json()["code"] == "replayed_signature"
    assert _replies().count() == 1


# --- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        CNIC,
        "3520212345671",
        "35202 1234567 1",
        CNIC.translate(URDU),
        "3۵۲۰۲۱۲۳۴۵۶۷۱",
        "3520212345671".translate(ARABIC),
        f"براہ کرم چیک کریں {CNIC.translate(URDU)} شکریہ",
    ],
)
def test_every_digit_format_reaches_the_warning_with_the_names(world, text):
    _registrant(world)
    assert _check(text).kind == "warning"
    reply = _replies().get()
    assert "امتیاز احمد" in reply.text
    assert "غلام رسول" in reply.text
    assert reply.sensitive


@pytest.mark.parametrize(
    "status", [OffenderStatus.ACTIVE, OffenderStatus.ABSCONDED, OffenderStatus.IN_CUSTODY]
)
def test_active_absconded_and_in_custody_are_warned_of(world, status):
    _registrant(world, status=status, removal_reason="")
    assert _check(CNIC).kind == "warning"


def test_latin_names_when_the_record_has_no_urdu_ones(world):
    _registrant(world, full_name_ur="", father_name_ur="")
    _check(CNIC)
    assert "Imtiaz Ahmed" in _replies().get().text


def test_a_warning_naming_a_person_is_wiped_after_hand_over(world, capsys):
    _registrant(world)
    message = _replies().model.objects.get(pk=_check(CNIC).message_id)
    assert push_services.sms_deliver(message_id=message.pk) == push_services.OUTCOME_SENT
    message.refresh_from_db()
    assert message.text == ""
    assert message.text_wiped_at is not None
    assert message.expires_at is not None


def test_unknown_and_non_existent_cnics_get_the_same_bytes_and_the_same_work(world, settings):
    _registrant(world, status=OffenderStatus.REMOVED, removal_reason="deceased")
    # On the register but removed; valid but never registered; not a CNIC anyone was issued
    # (no province 9, no province 0).
    numbers = [CNIC, "35202-7654321-2", "95202-1234567-1", "05202-7654321-0"]
    senders = [f"+9230000000{n:02d}" for n in range(len(numbers))]
    shapes = []
    for number, sender in zip(numbers, senders, strict=True):
        with CaptureQueriesContext(connection) as queries:
            assert _check(number, sender=sender).kind == "neutral"
        shapes.append([_shape(q["sql"]) for q in queries.captured_queries])
    texts = {_replies(sender).get().text.encode() for sender in senders}
    assert texts == {settings.NIGRANI_SMS_CHECK_NEUTRAL_TEXT.encode()}
    for shape in shapes[1:]:
        assert len(shape) == len(shapes[0])
        for mine, first in zip(shape, shapes[0], strict=True):
            assert mine == first
    encodings = {
        (m.encoding, m.segments, m.sensitive, m.offender_id) for m in SmsMessage.objects.all()
    }
    assert len(encodings) == 1


def _shape(sql: str) -> str:
    """A statement without its values: what the database was asked to do, not with what."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r'"s\d+_x\d+"', "?", sql)  # savepoint names count up
    return re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)


def test_anything_else_gets_help_once_a_day_then_silence(world):
    with time_machine.travel("2026-03-02 05:00:00+00:00", tick=False) as traveller:
        assert _check("hello, how does this work?").kind == "help"
        assert _check("???").kind == "ignored"
        assert _check("٣٥٢٠٢").kind == "ignored"  # too few digits is not a CNIC
        traveller.shift(timedelta(hours=20))  # past Pakistan's midnight (UTC+5)
        assert _check("help").kind == "help"
    assert [m.text for m in _replies()] == [_replies().first().text] * 2


def test_numeral_lookalikes_get_the_help_text(world):
    assert _check("③5202-1234567-1").kind == "help"


# --- quotas and ceiling -----------------------------------------------------------------------


def _far_apart(n: int) -> str:
    """CNICs of different areas: never near-sequential."""
    return f"3{n:02d}02-1234567-1"


def test_five_checks_a_day_then_silence(world):
    with time_machine.travel("2026-03-02 05:00:00+00:00", tick=False) as traveller:
        kinds = [_check(_far_apart(n)).kind for n in range(6)]
        assert kinds == ["neutral"] * 5 + ["quota"]
        traveller.shift(timedelta(days=1, minutes=1))
        assert _check(_far_apart(7)).kind == "neutral"
    assert _replies().count() == 6


def test_twenty_checks_in_thirty_days_then_silence(world):
    with time_machine.travel("2026-03-02 05:00:00+00:00", tick=False) as traveller:
        kinds = []
        for n in range(21):
            kinds.append(_check(_far_apart(n)).kind)
            traveller.shift(timedelta(days=1, hours=1))
        assert kinds == ["neutral"] * 20 + ["quota"]


def test_the_global_ceiling_silences_everyone(world, settings):
    settings.NIGRANI_SMS_CHECK_GLOBAL_PER_MINUTE = 3
    kinds = [_check(_far_apart(n), sender=f"+923000000{n:03d}").kind for n in range(4)]
    assert kinds == ["neutral", "neutral", "neutral", "ceiling"]


# --- detectors --------------------------------------------------------------------------------


def _events(kind):
    return SecurityEvent.objects.filter(kind=kind)


def test_near_sequential_cnics_from_one_sender_silence_it(world, registry_admin):
    kinds = [_check(c).kind for c in ("35202-1234560-1", "35202-1234561-1", "35202-1234563-2")]
    assert kinds == ["neutral", "neutral", "silenced"]
    sender = SmsSender.objects.get()
    assert sender.silenced_reason == "sequential_cnics"
    assert _events("sequential_cnics").count() == 1
    assert Notification.objects.filter(officer=registry_admin, kind="sms_check_security").exists()
    assert _check(_far_apart(50)).kind == "silenced"
    assert _replies().count() == 2


def test_one_cnic_asked_from_many_numbers_silences_the_sender(world):
    kinds = [_check(CNIC, sender=f"+92300111{n:04d}").kind for n in range(5)]
    assert kinds == ["neutral"] * 4 + ["silenced"]
    assert _events("one_cnic_many_senders").get().details == {"senders_24h": 5}


def test_a_hit_rate_far_above_the_base_rate_silences_the_sender(world):
    _registrant(world, cnic="35202-1234567-1")
    _registrant(world, cnic="61101-7654321-3")
    kinds = [_check(c).kind for c in ("35202-1234567-1", "61101-7654321-3", _far_apart(70))]
    assert kinds == ["warning", "warning", "silenced"]
    assert _events("hit_rate").get().details["hits_30d"] == 2


def test_an_ordinary_sender_is_not_flagged(world):
    _registrant(world)
    kinds = [_check(c).kind for c in (CNIC, _far_apart(20), _far_apart(40), _far_apart(60))]
    assert kinds == ["warning", "neutral", "neutral", "neutral"]
    assert not SecurityEvent.objects.exists()


# --- what is kept -----------------------------------------------------------------------------


def test_no_number_is_stored_and_every_check_is_audited(world, api_client):
    _registrant(world)
    for text in (CNIC, "hi", _far_apart(30)):
        assert _post(api_client, {"sender": "0333-1234567", "text": text}).status_code == 200
    digits = "3331234567"
    with connection.cursor() as cursor:
        for table in (
            "disclosures_smssender",
            "disclosures_smscheck",
            "disclosures_securityevent",
            "audit_auditevent",
            "push_smsmessage",
        ):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dumped = json.dumps(cursor.fetchall(), default=str)
            assert digits not in dumped, table
            assert "1234567-1" not in dumped, table
            assert "3520212345671" not in dumped, table
    sender = SmsSender.objects.get()
    assert sender.sender_index == push_services.sms_to_index(SENDER)
    events = AuditEvent.objects.filter(object_type="sms_check").order_by("id")
    assert [e.details["answer"] for e in events] == ["warning", "help", "neutral"]
    assert {e.details["sender"] for e in events} == {sender.sender_index}
    assert events[0].details["cnic_index"] == cnic_blind_index(CNIC)
    assert SmsCheck.objects.count() == 2


def test_the_npb_lists_and_reviews_an_event_and_may_lift_the_silence(
    world, client_for, registry_admin, station_officer
):
    for cnic in ("35202-1234560-1", "35202-1234561-1", "35202-1234563-2"):
        _check(cnic)
    npb = client_for(registry_admin)
    listed = npb.get("/api/v1/sms/security-events/").json()["results"]
    assert [e["kind"] for e in listed] == ["sequential_cnics"]
    assert "+92" not in json.dumps(listed)
    url = f"/api/v1/sms/security-events/{listed[0]['id']}/review/"
    assert client_for(station_officer).post(url, {"unsilence": True}).status_code == 403
    assert client_for(station_officer).get("/api/v1/sms/security-events/").status_code == 403
    reviewed = npb.post(url, {"unsilence": True}, format="json")
    assert reviewed.status_code == 200
    assert reviewed.json()["reviewed_at"] is not None
    assert npb.post(url, {"unsilence": True}, format="json").status_code == 409
    assert SmsSender.objects.get().silenced_at is None
    assert _check(_far_apart(80)).kind == "neutral"
    assert AuditEvent.objects.filter(object_type="security_event").count() == 1


def test_only_an_active_national_role_with_the_permission_sees_security_events(
    registry_admin, control_room
):
    for cnic in ("35202-1234560-1", "35202-1234561-1", "35202-1234563-2"):
        _check(cnic)
    assert selectors.security_event_list(actor=registry_admin).count() == 1
    assert not selectors.security_event_list(actor=control_room).exists()
    registry_admin.is_active = False
    assert not selectors.security_event_list(actor=registry_admin).exists()
