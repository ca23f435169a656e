"""FCM delivery from the push outbox, against a local fake FCM server (firebase-admin's real
HTTP path: OAuth with a generated service-account key, v1 send, its error parsing): success,
429 with Retry-After, 503/500 backoff, dead tokens, a hung server, batches of ≤ 500, no
personal data in any payload, at-least-once after a dead worker, and the alert paths."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import DeviceToken
from accounts.services import device_push_token_set, device_token_issue
from compliance.alerts import alert_sms_fallback
from compliance.models import AlertNotice, NoticeChannel, Severity
from compliance.services import violation_acknowledge, violation_assign
from push import fcm
from push.models import PushMessage, PushStatus, SmsMessage
from push.pushes import MAX_BATCH, push_deliver_batch, push_enqueue, push_sweep
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory
from tests.push.fake_fcm import start_fake_fcm, stop_fake_fcm

DATA = {"type": "alert", "alert_id": "1", "kind": "missed_checkin", "severity": "4"}


@pytest.fixture
def fake_fcm():
    fake = start_fake_fcm()
    yield fake
    stop_fake_fcm(fake)


@pytest.fixture
def fcm_backend(settings, fake_fcm, tmp_path):
    settings.NIGRANI_PUSH_BACKEND = "fcm"
    settings.NIGRANI_FCM_CREDENTIALS_FILE = str(fake_fcm.service_account_file(tmp_path))
    settings.NIGRANI_FCM_ENDPOINT = fake_fcm.url
    settings.NIGRANI_FCM_TIMEOUT_SECONDS = 0.5
    settings.NIGRANI_PUSH_RETRY_BASE_SECONDS = 2
    settings.NIGRANI_PUSH_MAX_ATTEMPTS = 3
    yield fake_fcm
    for backend in fcm._backends.values():
        backend.close()
    fcm._backends.clear()


def phone(officer, fcm_token: str, device_id: str = "phone-1") -> DeviceToken:
    issued = device_token_issue(officer=officer, device_id=device_id, device_name="phone")
    return device_push_token_set(device_token=issued.device_token, fcm_token=fcm_token)


def statuses() -> list[str]:
    return list(PushMessage.objects.order_by("pk").values_list("status", flat=True))


# --- the SDK against the fake ------------------------------------------------------------


def test_a_push_is_delivered_data_only_with_a_stable_message_id(fcm_backend, beat_officer):
    phone(beat_officer, "tok-ok")
    [message] = push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)

    assert push_deliver_batch() == {
        "claimed": 1,
        "sent": 1,
        "retry": 0,
        "dead": 0,
        "failed": 0,
        "cancelled": 0,
    }

    [sent] = fcm_backend.sends
    assert sent["token"] == "tok-ok"
    assert sent["message"]["data"] == {**DATA, "message_id": str(message.message_id)}
    assert "notification" not in sent["message"]  # data-only
    assert sent["message"]["android"]["priority"] == "high"
    assert fcm_backend.token_requests == 1
    assert statuses() == [PushStatus.SENT]


def test_429_is_retried_no_sooner_than_retry_after_with_the_same_message_id(
    fcm_backend, beat_officer
):
    phone(beat_officer, "tok-busy")
    fcm_backend.then("tok-busy", "429")
    fcm_backend.retry_after = 30
    [message] = push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)

    before = timezone.now()
    assert push_deliver_batch()["retry"] == 1
    message.refresh_from_db()
    assert message.status == PushStatus.QUEUED
    # Retry-After (30 s) wins over the 2 s backoff.
    assert message.next_attempt_at >= before + timedelta(seconds=30)
    assert message.last_error == "RESOURCE_EXHAUSTED"
    assert push_deliver_batch()["claimed"] == 0  # not due yet

    with time_machine.travel(message.next_attempt_at + timedelta(seconds=1)):
        assert push_deliver_batch()["sent"] == 1

    ids = [s["message"]["data"]["message_id"] for s in fcm_backend.sends]
    assert ids == [str(message.message_id)] * 2


@pytest.mark.parametrize("mode", ["503", "500"])
def test_server_errors_back_off_exponentially_and_the_sdk_does_not_retry_on_its_own(
    fcm_backend, beat_officer, mode
):
    phone(beat_officer, "tok-flaky")
    fcm_backend.then("tok-flaky", mode, mode)
    [message] = push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)

    delays = []
    moment = timezone.now()
    for _ in range(2):
        with time_machine.travel(moment, tick=False):
            assert push_deliver_batch()["retry"] == 1
        message.refresh_from_db()
        delays.append((message.next_attempt_at - moment).total_seconds())
        moment = message.next_attempt_at
    with time_machine.travel(moment, tick=False):
        assert push_deliver_batch()["sent"] == 1

    assert delays == [pytest.approx(2, abs=0.5), pytest.approx(4, abs=0.5)]
    assert len(fcm_backend.sends) == 3  # one request per attempt: no hidden SDK retries


def test_out_of_attempts_is_failed(fcm_backend, beat_officer):
    phone(beat_officer, "tok-down")
    fcm_backend.mode = "503"
    [message] = push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)

    for _ in range(3):  # NIGRANI_PUSH_MAX_ATTEMPTS
        message.refresh_from_db()
        with time_machine.travel(
            (message.next_attempt_at or timezone.now()) + timedelta(seconds=1)
        ):
            push_deliver_batch()

    message.refresh_from_db()
    assert (message.status, message.attempts) == (PushStatus.FAILED, 3)


@pytest.mark.parametrize("mode", ["unregistered", "invalid"])
def test_a_dead_token_is_marked_and_never_used_again(fcm_backend, beat_officer, mode):
    device = phone(beat_officer, f"tok-{mode}")
    fcm_backend.mode = mode
    push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)

    assert push_deliver_batch()["dead"] == 1

    device.refresh_from_db()
    assert device.fcm_dead_at is not None
    assert statuses() == [PushStatus.DEAD]
    assert push_enqueue(officers=[beat_officer], purpose="alert", data=DATA) == []
    # Registering a fresh token revives the device.
    device_push_token_set(device_token=device, fcm_token="tok-fresh")
    assert len(push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)) == 1


def test_a_hung_server_times_out_and_is_retried(fcm_backend, beat_officer):
    phone(beat_officer, "tok-slow")
    fcm_backend.then("tok-slow", "hang")
    fcm_backend.hang_seconds = 1.5  # past the 0.5 s timeout
    push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)

    result = push_deliver_batch()

    assert result["retry"] == 1
    assert PushMessage.objects.get().last_error == "DEADLINE_EXCEEDED"


def test_one_batch_mixes_outcomes_per_message(fcm_backend, beat_officer, beat_officer_elsewhere):
    phone(beat_officer, "tok-a")
    phone(beat_officer_elsewhere, "tok-b")
    fcm_backend.then("tok-b", "unregistered")
    push_enqueue(officers=[beat_officer, beat_officer_elsewhere], purpose="alert", data=DATA)

    result = push_deliver_batch()

    assert (result["sent"], result["dead"]) == (1, 1)


# --- the outbox around it --------------------------------------------------------------------


def test_batches_hold_at_most_500(settings, world, beat_officer):
    settings.NIGRANI_PUSH_BACKEND = "console"
    issued = device_token_issue(officer=beat_officer, device_id="p", device_name="p")
    DeviceToken.objects.filter(pk=issued.device_token.pk).update(fcm_token="tok-console")
    PushMessage.objects.bulk_create(
        PushMessage(officer=beat_officer, device_token=issued.device_token, purpose="x", data={})
        for _ in range(MAX_BATCH + 100)
    )

    assert push_deliver_batch(limit=10_000)["sent"] == MAX_BATCH
    assert push_deliver_batch()["sent"] == 100


def test_no_push_to_a_revoked_device_or_signed_out_officer(settings, world, beat_officer):
    settings.NIGRANI_PUSH_BACKEND = "console"
    device = phone(beat_officer, "tok-x")
    push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)
    DeviceToken.objects.filter(pk=device.pk).update(revoked_at=timezone.now())

    assert push_deliver_batch()["cancelled"] == 1
    assert push_enqueue(officers=[beat_officer], purpose="alert", data=DATA) == []


def test_pushes_off_writes_nothing(settings, beat_officer):
    settings.NIGRANI_PUSH_BACKEND = "none"
    phone(beat_officer, "tok-x")

    assert push_enqueue(officers=[beat_officer], purpose="alert", data=DATA) == []


def test_personal_data_is_refused_in_a_payload(settings, beat_officer):
    with pytest.raises(Exception, match="ids and codes"):
        push_enqueue(officers=[beat_officer], purpose="alert", data={"name": "someone"})


def test_a_dead_workers_pushes_are_sent_again_with_the_same_message_id(fcm_backend, beat_officer):
    phone(beat_officer, "tok-ok")
    [message] = push_enqueue(officers=[beat_officer], purpose="alert", data=DATA)
    # A worker claimed it and died before recording anything.
    PushMessage.objects.filter(pk=message.pk).update(
        status=PushStatus.SENDING, claimed_at=timezone.now() - timedelta(minutes=5), attempts=1
    )

    assert push_sweep() == 1
    assert push_deliver_batch()["sent"] == 1
    assert fcm_backend.sends[0]["message"]["data"]["message_id"] == str(message.message_id)


# --- the alert paths -------------------------------------------------------------------------


def test_an_alerts_pushes_carry_no_personal_data(fcm_backend, world, beat_officer):
    offender = OffenderFactory(
        district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1, phone="+923009998887"
    )
    phone(beat_officer, "tok-beat")
    violation, _ = raise_for(offender, severity=Severity.CRITICAL, lon=74.2, lat=31.2)

    push_deliver_batch()

    [sent] = fcm_backend.sends
    body = sent["body"]
    assert sent["message"]["data"]["alert_id"] == str(violation.pk)
    data = sent["message"]["data"]
    assert set(data) == {"type", "alert_id", "kind", "severity", "level", "message_id"}
    for secret in (offender.full_name, offender.father_name, offender.cnic, offender.phone):
        assert secret not in body
    assert "House" not in body  # the address
    assert "74.2" not in body  # the location
    assert AlertNotice.objects.filter(
        violation=violation, officer=beat_officer, channel=NoticeChannel.PUSH
    ).exists()


def test_assignment_pushes_the_assignee(fcm_backend, world, control_room, station_officer):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    phone(station_officer, "tok-station")
    violation, _ = raise_for(offender)

    violation_assign(actor=control_room, violation_id=violation.pk, officer_id=station_officer.pk)
    push_deliver_batch()

    [sent] = [s for s in fcm_backend.sends if s["token"] == "tok-station"]
    assert sent["message"]["data"]["type"] == "alert_assigned"
    assert json.loads(sent["body"])["message"]["data"]["alert_id"] == str(violation.pk)


# --- SMS fallback ----------------------------------------------------------------------------


@pytest.fixture
def critical_alert(world, beat_officer, beat_officer_elsewhere):
    beat_officer.work_phone = "+923001110001"
    beat_officer.save(update_fields=["work_phone"])
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    violation, _ = raise_for(offender, severity=Severity.CRITICAL)
    return violation, offender


def test_an_unacknowledged_critical_alert_also_goes_by_sms(critical_alert, beat_officer):
    violation, offender = critical_alert

    assert alert_sms_fallback(violation_id=violation.pk, level=1, repeat=0) == 1
    assert alert_sms_fallback(violation_id=violation.pk, level=1, repeat=0) == 0  # once

    sms = SmsMessage.objects.get(purpose="alert_fallback")
    assert sms.to == beat_officer.work_phone
    assert f"#{violation.pk}" in sms.text
    for secret in (offender.full_name, offender.cnic, offender.phone):
        assert secret not in sms.text
    assert AlertNotice.objects.filter(
        violation=violation, officer=beat_officer, channel=NoticeChannel.SMS
    ).exists()


def test_no_sms_once_acknowledged_or_climbed(critical_alert, control_room):
    violation, _ = critical_alert
    violation_acknowledge(actor=control_room, violation_id=violation.pk)

    assert alert_sms_fallback(violation_id=violation.pk, level=1, repeat=0) == 0
    assert alert_sms_fallback(violation_id=violation.pk, level=2, repeat=0) == 0
    assert not SmsMessage.objects.filter(purpose="alert_fallback").exists()


def test_the_fallback_is_scheduled_for_critical_alerts_only(world):
    from procrastinate.contrib.django.models import ProcrastinateJob

    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    raise_for(offender, key="medium", severity=Severity.MEDIUM)
    assert not ProcrastinateJob.objects.filter(task_name="compliance.alert_sms_fallback").exists()

    raise_for(offender, key="critical", severity=Severity.CRITICAL, kind="absconding_suspected")
    job = ProcrastinateJob.objects.get(task_name="compliance.alert_sms_fallback")
    assert job.scheduled_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_fallback_after_its_delay_and_it_texts_the_step(world, beat_officer):
    """The scheduled job as a real worker meets it: not before its delay, then once."""
    from procrastinate.contrib.django import app
    from procrastinate.contrib.django.models import ProcrastinateJob

    beat_officer.work_phone = "+923001110001"
    beat_officer.save(update_fields=["work_phone"])
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    with transaction.atomic():
        violation, _ = raise_for(offender, severity=Severity.CRITICAL)
    # By its arguments: the jobs table is not emptied between transactional tests.
    job = ProcrastinateJob.objects.get(
        task_name="compliance.alert_sms_fallback", args__violation_id=violation.pk
    )
    assert job.args == {"violation_id": violation.pk, "level": 1, "repeat": 0}

    def run_worker() -> None:
        worker = app.with_connector(app.connector.get_worker_connector())
        with worker.open():
            worker.run_worker(
                queues=["alerts"], wait=False, install_signal_handlers=False, listen_notify=False
            )

    run_worker()  # the alert's delivery job runs; the fallback is not due yet
    assert not SmsMessage.objects.filter(purpose="alert_fallback").exists()

    with connection.cursor() as cursor:  # its delay has passed
        cursor.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 second' "
            "WHERE id = %s",
            [job.pk],
        )
    run_worker()

    assert ProcrastinateJob.objects.get(pk=job.pk).status == "succeeded"
    sms = SmsMessage.objects.get(purpose="alert_fallback")
    assert sms.to == beat_officer.work_phone
    assert f"#{violation.pk}" in sms.text


# --- registration ----------------------------------------------------------------------------


def test_a_phone_registers_its_fcm_token_with_its_bearer_token(api_client, beat_officer):
    issued = device_token_issue(officer=beat_officer, device_id="phone-9", device_name="p")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}", HTTP_X_DEVICE_ID="phone-9")

    response = api_client.put(
        "/api/v1/auth/devices/push-token/", {"fcm_token": "tok-registered"}, format="json"
    )

    assert response.status_code == 204, response.content
    assert DeviceToken.objects.get(pk=issued.device_token.pk).fcm_token == "tok-registered"


def test_a_web_session_cannot_register_a_push_token(client_for, beat_officer):
    response = client_for(beat_officer).put(
        "/api/v1/auth/devices/push-token/", {"fcm_token": "tok"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "device_token_required"
