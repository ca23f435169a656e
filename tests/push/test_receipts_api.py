"""The gateway's delivery-receipt webhook: HMAC over timestamp and body, stale and replayed
signatures refused, receipts only move a message forward."""

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from push import services
from push.api import ReceiptThrottle
from push.models import SmsMessage, SmsReceiptSignature, SmsStatus
from tests.push.conftest import NUMBER

URL = "/api/v1/sms/receipts/"
SECRET = "receipt-secret-for-tests"


@pytest.fixture
def receipts(settings):
    settings.NIGRANI_SMS_RECEIPT_SECRET = SECRET
    settings.NIGRANI_SMS_RECEIPT_MAX_AGE_SECONDS = 300


@pytest.fixture
def sent_message(db, capsys):
    message = services.sms_enqueue(
        to=NUMBER, text="Code 482913", purpose="checkin_otp", sensitive=True
    )
    services.sms_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    return message


def post_receipt(api_client, payload, *, timestamp=None, secret=SECRET, signature=None):
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = signature or services.receipt_signature(
        secret=secret, timestamp=timestamp, body=body
    )
    return api_client.post(
        URL,
        data=body,
        content_type="application/json",
        headers={"X-Nigrani-Timestamp": timestamp, "X-Nigrani-Signature": signature},
    )


def test_delivered_receipt_marks_the_message_delivered(api_client, receipts, sent_message):
    response = post_receipt(
        api_client,
        {"id": sent_message.gateway_id, "status": "delivered", "at": "2026-03-01T10:00:07Z"},
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": True}
    sent_message.refresh_from_db()
    assert sent_message.status == SmsStatus.DELIVERED
    assert sent_message.delivered_at.isoformat() == "2026-03-01T10:00:07+00:00"


def test_failed_receipt_marks_the_message_failed(api_client, receipts, sent_message):
    response = post_receipt(api_client, {"id": sent_message.gateway_id, "status": "undeliverable"})

    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.last_error) == ("failed", "receipt_undeliverable")


def test_a_late_sent_receipt_does_not_undo_delivered(api_client, receipts, sent_message):
    post_receipt(api_client, {"id": sent_message.gateway_id, "status": "delivered"})
    response = post_receipt(api_client, {"id": sent_message.gateway_id, "status": "sent"})

    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == SmsStatus.DELIVERED


def test_receipt_for_an_unknown_id_is_answered_like_any_other_and_changes_nothing(
    api_client, receipts, sent_message
):
    response = post_receipt(api_client, {"id": "gw-unknown", "status": "delivered"})

    assert response.status_code == 200
    assert response.json() == {"accepted": True}
    sent_message.refresh_from_db()
    assert sent_message.status == SmsStatus.SENT


def test_receipt_with_an_empty_id_cannot_match_an_unsent_message(api_client, receipts, db):
    queued = services.sms_enqueue(to=NUMBER, text="Hello", purpose="test")

    response = post_receipt(api_client, {"id": "", "status": "delivered"})

    assert response.status_code == 400
    queued.refresh_from_db()
    assert queued.status == SmsStatus.QUEUED


def test_wrong_signature_is_refused(api_client, receipts, sent_message):
    response = post_receipt(
        api_client, {"id": sent_message.gateway_id, "status": "delivered"}, secret="wrong"
    )

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "invalid_signature"
    assert set(body) == {"code", "message", "fields", "request_id"}
    sent_message.refresh_from_db()
    assert sent_message.status == SmsStatus.SENT


def test_signature_of_another_body_is_refused(api_client, receipts, sent_message):
    timestamp = str(int(time.time()))
    other = services.receipt_signature(secret=SECRET, timestamp=timestamp, body=b"{}")
    response = post_receipt(
        api_client,
        {"id": sent_message.gateway_id, "status": "delivered"},
        timestamp=timestamp,
        signature=other,
    )
    assert response.status_code == 403


def test_missing_signature_is_401(api_client, receipts, sent_message):
    response = api_client.post(
        URL, {"id": sent_message.gateway_id, "status": "delivered"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_or_future_signature_is_refused(api_client, receipts, sent_message, skew):
    response = post_receipt(
        api_client,
        {"id": sent_message.gateway_id, "status": "delivered"},
        timestamp=int(time.time()) + skew,
    )

    assert response.status_code == 403
    assert response.json()["code"] == "stale_signature"
    sent_message.refresh_from_db()
    assert sent_message.status == SmsStatus.SENT


def test_replayed_signature_is_refused(api_client, receipts, sent_message):
    payload = {"id": sent_message.gateway_id, "status": "delivered"}
    timestamp = int(time.time())
    assert post_receipt(api_client, payload, timestamp=timestamp).status_code == 200

    replay = post_receipt(api_client, payload, timestamp=timestamp)

    assert replay.status_code == 403
    assert replay.json()["code"] == "replayed_signature"
    assert SmsReceiptSignature.objects.count() == 1


def test_a_replay_with_a_respelt_signature_is_refused(api_client, receipts, sent_message):
    payload = {"id": sent_message.gateway_id, "status": "delivered"}
    timestamp = str(int(time.time()))
    signature = services.receipt_signature(
        secret=SECRET, timestamp=timestamp, body=json.dumps(payload).encode()
    )
    assert (
        post_receipt(api_client, payload, timestamp=timestamp, signature=signature).status_code
        == 200
    )

    replay = post_receipt(
        api_client, payload, timestamp=timestamp, signature=f" {signature.upper()} "
    )

    assert replay.status_code == 403
    assert replay.json()["code"] == "replayed_signature"


def test_receipts_are_refused_when_no_secret_is_configured(api_client, settings, sent_message):
    settings.NIGRANI_SMS_RECEIPT_SECRET = ""
    response = post_receipt(api_client, {"id": sent_message.gateway_id, "status": "delivered"})
    assert response.status_code == 403


def test_a_signed_receipt_with_a_bad_body_is_a_field_error(api_client, receipts, db):
    response = post_receipt(api_client, {"id": "gw-1", "status": "teleported"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_old_signatures_are_pruned(receipts, db):
    now = timezone.now()
    SmsReceiptSignature.objects.create(signature="a" * 64, received_at=now - timedelta(hours=1))
    SmsReceiptSignature.objects.create(signature="b" * 64, received_at=now - timedelta(minutes=1))

    assert services.sms_receipt_signatures_prune(now=now) == 1
    assert list(SmsReceiptSignature.objects.values_list("signature", flat=True)) == ["b" * 64]


def test_a_receipt_signed_at_the_edge_of_the_window_is_accepted(api_client, receipts, sent_message):
    with time_machine.travel("2026-03-01 10:00:00+00:00", tick=False):
        response = post_receipt(
            api_client,
            {"id": sent_message.gateway_id, "status": "delivered"},
            timestamp=int(time.time()) - 300,
        )
    assert response.status_code == 200
    assert SmsMessage.objects.get(pk=sent_message.pk).status == SmsStatus.DELIVERED


def test_a_flood_of_receipts_is_throttled(api_client, receipts, db, monkeypatch):
    cache.clear()
    monkeypatch.setattr(ReceiptThrottle, "rate", "2/min")
    answers = [post_receipt(api_client, {"id": f"gw-{n}", "status": "sent"}) for n in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "throttled"
    assert "Retry-After" in answers[2].headers
    cache.clear()
