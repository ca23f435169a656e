"""The delivery job run by a real procrastinate worker, found by name, against the fake
gateway; and the periodic jobs' bodies."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from procrastinate.contrib.django import app

from push import jobs, services
from push.models import SmsMessage, SmsReceiptSignature, SmsStatus
from tests.push.conftest import NUMBER, delivery_jobs


def _run_worker() -> None:
    worker_app = app.with_connector(app.connector.get_worker_connector())
    with worker_app.open():
        worker_app.run_worker(
            queues=[jobs.SMS_QUEUE], wait=False, install_signal_handlers=False, listen_notify=False
        )


@pytest.mark.django_db(transaction=True)
def test_worker_delivers_a_committed_message_once(http_backend):
    with transaction.atomic():
        message = services.sms_enqueue(
            to=NUMBER, text="Code 482913", purpose="checkin_otp", sensitive=True
        )

    _run_worker()

    message.refresh_from_db()
    assert (message.status, message.text, message.attempts) == (SmsStatus.SENT, "", 1)
    assert [r["key"] for r in http_backend.requests] == [str(message.reference)]
    assert delivery_jobs(message.pk) == [("succeeded", None)]


@pytest.mark.django_db(transaction=True)
def test_worker_schedules_the_retry_of_a_failed_attempt(http_backend):
    http_backend.then("error_502")
    with transaction.atomic():
        message = services.sms_enqueue(to=NUMBER, text="Hello", purpose="test")

    _run_worker()

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("queued", 1, "http_502")
    assert delivery_jobs(message.pk) == [("succeeded", None), ("todo", message.next_attempt_at)]


def test_sweep_job_runs_the_sweep(db):
    message = services.sms_enqueue(
        to=NUMBER,
        text="Code 1",
        purpose="checkin_otp",
        sensitive=True,
        expires_at=timezone.now() + timedelta(seconds=30),
    )
    SmsMessage.objects.filter(pk=message.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert jobs.sweep_sms(timestamp=0)["expired"] == 1
    message.refresh_from_db()
    assert (message.status, message.text) == (SmsStatus.EXPIRED, "")


def test_prune_job_deletes_old_signatures(db, settings):
    settings.NIGRANI_SMS_RECEIPT_MAX_AGE_SECONDS = 300
    SmsReceiptSignature.objects.create(
        signature="c" * 64, received_at=timezone.now() - timedelta(hours=2)
    )

    assert jobs.prune_receipt_signatures(timestamp=0) == 1
    assert SmsReceiptSignature.objects.count() == 0
