"""The http backend against the local fake gateway: retries with backoff, nothing lost or
doubled when the gateway fails, answers slowly or drops the connection after accepting."""

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.utils import timezone

from push import services
from push.models import SmsMessage, SmsStatus
from push.sms import HttpBackend
from tests.push.conftest import NUMBER, delivery_jobs

OTP_TEXT = "Nigrani check-in code 482913. Do not share it."
T0 = "2026-03-01 10:00:00+00:00"


def _enqueue(**overrides) -> SmsMessage:
    arguments = {
        "to": NUMBER,
        "text": OTP_TEXT,
        "purpose": "checkin_otp",
        "sensitive": True,
        "expires_at": timezone.now() + timedelta(hours=1),
    }
    arguments.update(overrides)
    return services.sms_enqueue(**arguments)


def _deliver_at(moment: str, message: SmsMessage) -> str:
    """What a worker does: take the message's waiting job (now "doing"), then run it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = ("
            " SELECT min(id) FROM procrastinate_jobs WHERE status = 'todo' AND args = %s::jsonb)",
            [json.dumps({"message_id": message.pk})],
        )
    with time_machine.travel(moment, tick=False):
        return services.sms_deliver(message_id=message.pk)


def test_gateway_receives_the_message_with_our_reference_as_idempotency_key(db, http_backend):
    message = _enqueue(text="آپ کا کوڈ 482913 ہے")

    assert services.sms_deliver(message_id=message.pk) == services.OUTCOME_SENT

    (request,) = http_backend.requests
    assert request["auth"] == "Bearer fake-gateway-key"
    assert request["key"] == str(message.reference)
    assert request["payload"] == {
        "to": NUMBER,
        "text": "آپ کا کوڈ 482913 ہے",
        "sender": "NIGRANI",
        "encoding": "ucs2",
        "reference": str(message.reference),
    }
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT
    assert message.backend == "http"
    assert message.gateway_id == http_backend.messages[str(message.reference)].gateway_id
    assert message.text == ""


def test_failing_gateway_is_retried_with_backoff_and_the_message_sent_once(db, http_backend):
    http_backend.then("error_500", "error_503")
    with time_machine.travel(T0, tick=False):
        message = _enqueue()

    assert _deliver_at(T0, message) == services.OUTCOME_RETRY
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("queued", 1, "http_500")
    assert message.next_attempt_at.isoformat() == "2026-03-01T10:00:05+00:00"
    assert message.text == OTP_TEXT  # kept for the retry
    # The retry is a job scheduled at the next attempt, next to the first (now running) one.
    assert [scheduled for _, scheduled in delivery_jobs(message.pk)][-1] == message.next_attempt_at

    # A duplicate job before the retry is due sends nothing and leaves the retry scheduled.
    with time_machine.travel("2026-03-01 10:00:04+00:00", tick=False):
        assert services.sms_deliver(message_id=message.pk) == services.OUTCOME_NOT_DUE
    assert len(http_backend.requests) == 1
    assert ("todo", message.next_attempt_at) in delivery_jobs(message.pk)

    assert _deliver_at("2026-03-01 10:00:05+00:00", message) == services.OUTCOME_RETRY
    message.refresh_from_db()
    assert message.next_attempt_at.isoformat() == "2026-03-01T10:00:15+00:00"  # doubled

    assert _deliver_at("2026-03-01 10:00:15+00:00", message) == services.OUTCOME_SENT
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, "")
    assert [r["mode"] for r in http_backend.requests] == ["error_500", "error_503", "ok"]
    assert len(http_backend.messages) == 1


@pytest.mark.parametrize("lost_answer", ["drop", "slow"])
def test_accepted_message_whose_answer_was_lost_is_not_sent_twice(db, http_backend, lost_answer):
    """The gateway accepted, then the connection dropped (or the answer came after our
    timeout): the retry carries the same key, so the gateway keeps one message."""
    http_backend.then(lost_answer)
    with time_machine.travel(T0, tick=False):
        message = _enqueue()

    assert _deliver_at(T0, message) == services.OUTCOME_RETRY
    message.refresh_from_db()
    assert message.last_error == ("connection_error" if lost_answer == "drop" else "timeout")
    assert _deliver_at("2026-03-01 10:00:05+00:00", message) == services.OUTCOME_SENT

    assert len(http_backend.requests) == 2
    assert {r["key"] for r in http_backend.requests} == {str(message.reference)}
    assert len(http_backend.messages) == 1
    message.refresh_from_db()
    assert message.gateway_id == http_backend.messages[str(message.reference)].gateway_id


def test_refused_number_fails_at_once_and_wipes_the_otp(db, http_backend):
    http_backend.then("error_400")
    message = _enqueue()

    assert services.sms_deliver(message_id=message.pk) == services.OUTCOME_FAILED

    message.refresh_from_db()
    assert (message.status, message.last_error, message.text) == ("failed", "http_400", "")
    assert message.finished_at is not None
    assert [status for status, _ in delivery_jobs(message.pk)] == ["todo"]  # no retry deferred


def test_message_fails_after_the_last_attempt(db, http_backend):
    http_backend.mode = "error_500"
    with time_machine.travel(T0, tick=False):
        message = _enqueue()
    moments = [
        T0,
        "2026-03-01 10:00:05+00:00",
        "2026-03-01 10:00:15+00:00",
        "2026-03-01 10:00:35+00:00",
    ]

    outcomes = [_deliver_at(moment, message) for moment in moments]

    assert outcomes == ["retry", "retry", "retry", "failed"]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.text) == ("failed", 4, "")
    assert http_backend.messages == {}


def test_retry_never_sends_an_otp_after_its_expiry(db, http_backend):
    http_backend.then("error_500")
    with time_machine.travel(T0, tick=False):
        message = _enqueue(expires_at=timezone.now() + timedelta(seconds=3))
    assert _deliver_at(T0, message) == services.OUTCOME_RETRY

    assert _deliver_at("2026-03-01 10:00:05+00:00", message) == services.OUTCOME_EXPIRED
    assert len(http_backend.requests) == 1
    message.refresh_from_db()
    assert (message.status, message.text) == ("expired", "")


def test_sweep_hands_on_a_message_left_sending_by_a_dead_worker(db, http_backend, settings):
    """The worker was killed after the gateway accepted but before it recorded the answer:
    the sweep queues it again, and the resend is de-duplicated by the gateway."""
    settings.NIGRANI_SMS_STUCK_SECONDS = 300
    with time_machine.travel(T0, tick=False):
        message = _enqueue()
        SmsMessage.objects.filter(pk=message.pk).update(
            status=SmsStatus.SENDING, claimed_at=timezone.now(), attempts=1
        )
    http_backend.accept(
        {
            "to": NUMBER,
            "text": OTP_TEXT,
            "sender": "NIGRANI",
            "encoding": "gsm7",
            "reference": str(message.reference),
        },
        str(message.reference),
    )

    with time_machine.travel("2026-03-01 10:04:00+00:00", tick=False):
        assert services.sms_sweep()["handed_on"] == 0
    with time_machine.travel("2026-03-01 10:05:01+00:00", tick=False):
        assert services.sms_sweep()["handed_on"] == 1
    assert _deliver_at("2026-03-01 10:05:02+00:00", message) == services.OUTCOME_SENT

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert len(http_backend.messages) == 1


def test_sweep_redefers_a_queued_message_whose_job_was_lost_but_never_doubles_a_waiting_one(
    db, http_backend
):
    with time_machine.travel(T0, tick=False):
        waiting = _enqueue()
        lost = _enqueue()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE args = %s::jsonb",
            [f'{{"message_id": {lost.pk}}}'],
        )

    with time_machine.travel("2026-03-01 10:02:00+00:00", tick=False):
        swept = services.sms_sweep()

    assert swept["redeferred"] == 1
    assert [status for status, _ in delivery_jobs(waiting.pk)] == ["todo"]
    assert [status for status, _ in delivery_jobs(lost.pk)] == ["todo"]


def test_gateway_answers_and_logs_never_carry_the_number_or_text(db, http_backend, caplog):
    http_backend.then("error_500", "error_400")
    message = _enqueue()
    services.sms_deliver(message_id=message.pk)
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    services.sms_deliver(message_id=message.pk)

    assert f"sms {message.pk}" in caplog.text
    assert NUMBER not in caplog.text
    assert "482913" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_one_message_at_once_send_it_once(http_backend):
    http_backend.then("slow")
    http_backend.slow_seconds = 0.2
    message = _enqueue()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            outcomes.append(services.sms_deliver(message_id=message.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["sent", "skipped"]
    assert len(http_backend.requests) == 1


def test_http_backend_needs_url_and_key(settings):
    settings.NIGRANI_SMS_HTTP_URL = ""
    settings.NIGRANI_SMS_HTTP_API_KEY = "k"
    with pytest.raises(ImproperlyConfigured):
        HttpBackend()


def test_http_backend_refuses_plain_http_outside_development_except_loopback(settings):
    settings.DEV_MODE = False
    settings.NIGRANI_SMS_HTTP_API_KEY = "k"
    settings.NIGRANI_SMS_HTTP_URL = "http://sms.example.pk/api"
    with pytest.raises(ImproperlyConfigured):
        HttpBackend()
    settings.NIGRANI_SMS_HTTP_URL = "http://127.0.0.1:9999"
    assert HttpBackend().url == "http://127.0.0.1:9999/messages"
    settings.NIGRANI_SMS_HTTP_URL = "https://sms.example.pk/api/"
    assert HttpBackend().url == "https://sms.example.pk/api/messages"


def test_an_early_duplicate_job_reschedules_a_retry_its_waiting_twin_blocked(db, http_backend):
    """One waiting job per message: a retry deferred while a duplicate job still waited was
    refused by the queueing lock. When that duplicate runs early, it defers the retry."""
    http_backend.then("error_500")
    with time_machine.travel(T0, tick=False):
        message = _enqueue()
        # Run outside the worker: the enqueue's own job stays waiting, blocking the retry.
        assert services.sms_deliver(message_id=message.pk) == services.OUTCOME_RETRY
    message.refresh_from_db()
    assert delivery_jobs(message.pk) == [("todo", None)]

    assert _deliver_at("2026-03-01 10:00:01+00:00", message) == services.OUTCOME_NOT_DUE

    assert delivery_jobs(message.pk) == [("doing", None), ("todo", message.next_attempt_at)]
