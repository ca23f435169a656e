"""The outbox interface other apps call: enqueue, cancel, deliver (console), expiry, wiping,
and officers' notices."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from push import services
from push.models import Notification, SmsMessage, SmsStatus
from tests.push.conftest import NUMBER, OTHER_NUMBER, delivery_jobs

OTP_TEXT = "Nigrani check-in code 482913. Do not share it."
URDU_OTP = "نگرانی چیک اِن کوڈ 482913 ہے۔ یہ کوڈ کسی کو نہ بتائیں۔"


def _raw_row(message_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute('SELECT "to", text FROM push_smsmessage WHERE id = %s', [message_id])
        return cursor.fetchone()


def enqueue_otp(**overrides) -> SmsMessage:
    arguments = {
        "to": NUMBER,
        "text": OTP_TEXT,
        "purpose": "checkin_otp",
        "sensitive": True,
        "expires_at": timezone.now() + timedelta(minutes=5),
        "offender_id": 42,
    }
    arguments.update(overrides)
    return services.sms_enqueue(**arguments)


# --- enqueue -------------------------------------------------------------------------------------


def test_enqueue_stores_number_and_text_encrypted_and_defers_delivery(db):
    message = enqueue_otp()

    raw_to, raw_text = _raw_row(message.pk)
    assert NUMBER not in raw_to
    assert raw_to.startswith("v1:")
    assert "482913" not in raw_text
    assert raw_text.startswith("v1:")
    stored = SmsMessage.objects.get(pk=message.pk)
    assert (stored.to, stored.text) == (NUMBER, OTP_TEXT)
    assert stored.status == SmsStatus.QUEUED
    assert (stored.encoding, stored.segments, stored.units) == ("gsm7", 1, len(OTP_TEXT))
    assert stored.offender_id == 42
    assert SmsMessage.objects.filter(to_index=services.sms_to_index(NUMBER)).count() == 1
    assert [status for status, _ in delivery_jobs(message.pk)] == ["todo"]


def test_enqueue_records_urdu_as_ucs2_with_its_segment_count(db):
    message = enqueue_otp(text=URDU_OTP * 2)

    assert message.encoding == "ucs2"
    assert message.segments == 2
    assert message.units == len(URDU_OTP) * 2


def test_enqueue_in_a_rolled_back_transaction_leaves_neither_message_nor_job(db):
    class Abort(Exception):
        pass

    def enqueue_then_fail() -> SmsMessage:
        with transaction.atomic():
            enqueued.append(enqueue_otp())
            raise Abort

    enqueued: list[SmsMessage] = []
    before = SmsMessage.objects.count()
    with pytest.raises(Abort):
        enqueue_then_fail()
    message = enqueued[0]

    assert SmsMessage.objects.count() == before
    assert delivery_jobs(message.pk) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": "03001234567"}, "to"),
        ({"to": "+92 300 1234567"}, "to"),
        ({"to": "+92۳۰۰۱۲۳۴۵۶۷"}, "to"),  # Urdu digits: the gateway wants ASCII
        ({"text": "   "}, "text"),
        ({"text": "ک" * 700}, "text"),
        ({"purpose": "Check-in OTP for Ali"}, "purpose"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "expires_at"),
    ],
)
def test_enqueue_refuses_bad_input_field_by_field(db, overrides, field):
    with pytest.raises(ValidationError) as caught:
        enqueue_otp(**overrides)
    assert field in caught.value.message_dict
    assert SmsMessage.objects.count() == 0


def test_sensitive_message_without_expiry_gets_the_default_lifetime(db, settings):
    settings.NIGRANI_SMS_SENSITIVE_TTL_SECONDS = 120
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        message = enqueue_otp(expires_at=None)
    assert message.expires_at.isoformat() == "2026-03-01T10:02:00+00:00"


def test_database_refuses_a_sensitive_text_kept_after_sending(db):
    message = enqueue_otp()
    with pytest.raises(IntegrityError), transaction.atomic():
        SmsMessage.objects.filter(pk=message.pk).update(status=SmsStatus.SENT)


# --- console delivery and wiping ----------------------------------------------------------------


def test_console_delivery_prints_the_code_and_wipes_the_sensitive_text(db, capsys, caplog):
    message = enqueue_otp()

    outcome = services.sms_deliver(message_id=message.pk)

    assert outcome == services.OUTCOME_SENT
    printed = capsys.readouterr().out
    assert "482913" in printed
    assert NUMBER in printed
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    assert message.backend == "console"
    assert message.gateway_id == f"console-{message.reference}"
    assert message.text == ""
    assert message.text_wiped_at is not None
    assert _raw_row(message.pk)[1] == ""
    assert message.to == NUMBER  # the number stays (encrypted): receipts and audits need it
    assert "482913" not in caplog.text
    assert NUMBER not in caplog.text


def test_non_sensitive_text_is_kept_after_sending(db, capsys):
    message = services.sms_enqueue(
        to=NUMBER, text="Reminder: check in by Friday.", purpose="checkin_reminder"
    )

    services.sms_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    assert message.text == "Reminder: check in by Friday."


def test_a_sent_message_is_not_sent_again_by_a_duplicate_job(db, capsys):
    message = enqueue_otp()
    services.sms_deliver(message_id=message.pk)
    capsys.readouterr()

    assert services.sms_deliver(message_id=message.pk) == services.OUTCOME_SKIPPED
    assert capsys.readouterr().out == ""
    message.refresh_from_db()
    assert message.attempts == 1


def test_console_backend_refuses_to_run_outside_development(db, settings):
    settings.DEV_MODE = False
    message = enqueue_otp()
    with pytest.raises(ImproperlyConfigured):
        services.sms_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (SmsStatus.QUEUED, 0)  # not claimed


def test_unknown_backend_is_refused(db, settings):
    settings.NIGRANI_SMS_BACKEND = "carrier-pigeon"
    message = enqueue_otp()
    with pytest.raises(ImproperlyConfigured, match="carrier-pigeon"):
        services.sms_deliver(message_id=message.pk)


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_withdraws_a_queued_otp_wipes_it_and_it_is_never_sent(db, capsys):
    message = enqueue_otp()

    assert services.sms_cancel(message_id=message.pk) is True

    message.refresh_from_db()
    assert message.status == SmsStatus.CANCELLED
    assert message.text == ""
    assert message.text_wiped_at is not None
    assert services.sms_deliver(message_id=message.pk) == services.OUTCOME_SKIPPED
    assert capsys.readouterr().out == ""


def test_cancel_after_sending_is_refused(db, capsys):
    message = enqueue_otp()
    services.sms_deliver(message_id=message.pk)

    assert services.sms_cancel(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT


def test_cancel_of_an_unknown_message_is_false(db):
    assert services.sms_cancel(message_id=987654) is False


# --- expiry --------------------------------------------------------------------------------------


def test_an_otp_is_never_sent_after_its_expiry(db, capsys):
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        message = enqueue_otp(expires_at=timezone.now() + timedelta(minutes=5))
    with time_machine.travel("2026-03-01 10:05:00+00:00", tick=False):
        outcome = services.sms_deliver(message_id=message.pk)

    assert outcome == services.OUTCOME_EXPIRED
    assert capsys.readouterr().out == ""
    message.refresh_from_db()
    assert message.status == SmsStatus.EXPIRED
    assert message.text == ""


def test_sweep_expires_unsent_messages_wiping_only_sensitive_texts(db):
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        otp = enqueue_otp(expires_at=timezone.now() + timedelta(minutes=5))
        reminder = services.sms_enqueue(
            to=OTHER_NUMBER,
            text="Check in today.",
            purpose="checkin_reminder",
            expires_at=timezone.now() + timedelta(minutes=5),
        )
        lasting = services.sms_enqueue(to=OTHER_NUMBER, text="Hello.", purpose="test")
    with time_machine.travel("2026-03-01 10:06:00+00:00", tick=False):
        swept = services.sms_sweep()

    assert swept["expired"] == 2
    otp.refresh_from_db()
    reminder.refresh_from_db()
    lasting.refresh_from_db()
    assert (otp.status, otp.text) == (SmsStatus.EXPIRED, "")
    assert (reminder.status, reminder.text) == (SmsStatus.EXPIRED, "Check in today.")
    assert lasting.status == SmsStatus.QUEUED


# --- notices -------------------------------------------------------------------------------------


def test_notify_officers_writes_one_notice_per_active_officer(
    station_officer, control_room, beat_officer
):
    beat_officer.is_active = False
    beat_officer.save()

    notices = services.notify_officers(
        officers=[station_officer, control_room, station_officer, beat_officer],
        kind="checkin_locked",
        text="An OTP check-in challenge locked after too many wrong codes.",
        object_type="checkin_challenge",
        object_id=17,
    )

    assert sorted(n.officer_id for n in notices) == sorted([station_officer.pk, control_room.pk])
    assert Notification.objects.filter(object_type="checkin_challenge", object_id="17").count() == 2


def test_notify_officers_in_a_rolled_back_transaction_leaves_nothing(station_officer):
    def notify_then_fail() -> None:
        with transaction.atomic():
            services.notify_officers(
                officers=[station_officer],
                kind="checkin_locked",
                text="Locked.",
                object_type="x",
                object_id=1,
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):
        notify_then_fail()

    assert Notification.objects.count() == 0


def test_notify_officers_refuses_a_bad_kind_or_empty_text(station_officer):
    with pytest.raises(ValidationError) as caught:
        services.notify_officers(
            officers=[station_officer], kind="Bad Kind", text=" ", object_type="x", object_id=1
        )
    assert set(caught.value.message_dict) == {"kind", "text"}
