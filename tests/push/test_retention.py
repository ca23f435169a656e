"""Nightly prunes of the alert machinery and the SMS outbox: stream events past their
retention (the counter stays), spent websocket tickets after a day, final pushes past theirs,
SMS out of the queue past theirs (never pending ones); in bounded set-based chunks; each a
periodic procrastinate task."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts.services import device_token_issue
from common.retention import delete_in_chunks
from push import alert_stream, jobs, pushes, services
from push.models import (
    LEFT_QUEUE_STATUSES,
    AlertEvent,
    AlertSequence,
    PushMessage,
    PushStatus,
    Receipt,
    SmsMessage,
    SmsStatus,
    WsTicket,
)
from push.services import sms_enqueue
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def offender(world):
    return OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)


def age(queryset, **fields_days_ago) -> None:
    now = timezone.now()
    queryset.update(
        **{field: now - timedelta(days=days) for field, days in fields_days_ago.items()}
    )


# --- alert-stream events ---------------------------------------------------------------------


def test_events_past_retention_go_and_the_sequence_goes_on(settings, offender, world):
    settings.NIGRANI_ALERT_EVENT_RETENTION_DAYS = 90
    for n in range(3):
        raise_for(offender, key=f"old-{n}")
    old = list(AlertEvent.objects.values_list("pk", flat=True))
    age(AlertEvent.objects.filter(pk__in=old), created_at=91)
    raise_for(offender, key="recent")
    kept = set(AlertEvent.objects.exclude(pk__in=old).values_list("seq", flat=True))
    head = AlertSequence.objects.get(district=world.lahore).last_seq

    assert alert_stream.alert_events_prune() == len(old)

    assert set(AlertEvent.objects.values_list("seq", flat=True)) == kept
    assert AlertSequence.objects.get(district=world.lahore).last_seq == head
    raise_for(offender, key="after-the-prune")
    assert AlertEvent.objects.order_by("-seq").first().seq == head + 1


def test_events_within_retention_stay(settings, offender):
    settings.NIGRANI_ALERT_EVENT_RETENTION_DAYS = 90
    raise_for(offender)
    age(AlertEvent.objects.all(), created_at=89)

    assert alert_stream.alert_events_prune() == 0
    assert AlertEvent.objects.exists()


def test_the_prune_deletes_in_bounded_set_based_chunks(offender):
    for n in range(5):
        raise_for(offender, key=f"old-{n}")
    count = AlertEvent.objects.count()
    age(AlertEvent.objects.all(), created_at=400)

    with CaptureQueriesContext(connection) as queries:
        assert alert_stream.alert_events_prune(chunk=2) == count

    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == count // 2 + 1  # full chunks, then the short one that ends it
    assert all("LIMIT 2" in sql for sql in deletes)
    assert not AlertEvent.objects.exists()


def test_a_chunk_must_hold_a_row():
    with pytest.raises(ValueError, match="chunk"):
        delete_in_chunks(AlertEvent.objects.all(), chunk=0)


def test_resync_is_needed_only_when_events_after_the_resume_point_were_pruned(offender, world):
    for n in range(4):
        raise_for(offender, key=f"e-{n}")
    seqs = sorted(AlertEvent.objects.filter(district=world.lahore).values_list("seq", flat=True))
    head = seqs[-1]
    age(AlertEvent.objects.filter(district=world.lahore, seq__lte=seqs[1]), created_at=400)
    alert_stream.alert_events_prune()

    def resync(after):
        return alert_stream.alert_stream_resync_point(district_id=world.lahore.pk, after=after)

    assert resync(seqs[0]) == head  # seqs[1] is gone
    assert resync(seqs[1]) is None  # everything after it is kept
    assert resync(head) is None

    AlertEvent.objects.all().delete()
    assert resync(head) is None  # nothing was after it
    assert resync(head - 1) == head
    assert alert_stream.alert_stream_head(district_id=world.lahore.pk) == head


# --- websocket tickets -----------------------------------------------------------------------


def test_spent_and_expired_tickets_go_after_a_day(control_room, client):
    client.force_login(control_room)
    session_key = client.session.session_key
    issued = [
        alert_stream.ws_ticket_issue(officer=control_room, session_key=session_key)
        for _ in range(4)
    ]
    expired_long_ago, used_long_ago, expired_today, fresh = (
        WsTicket.objects.get(ticket_hash=alert_stream._ticket_hash(t.ticket)) for t in issued
    )
    age(WsTicket.objects.filter(pk=expired_long_ago.pk), created_at=3, expires_at=2)
    age(WsTicket.objects.filter(pk=used_long_ago.pk), created_at=3, expires_at=2, used_at=2)
    WsTicket.objects.filter(pk=expired_today.pk).update(
        expires_at=timezone.now() - timedelta(hours=23)
    )

    assert alert_stream.ws_tickets_prune() == 2

    assert set(WsTicket.objects.values_list("pk", flat=True)) == {expired_today.pk, fresh.pk}


# --- pushes ----------------------------------------------------------------------------------


def test_final_pushes_past_retention_go_and_unsent_ones_never(settings, control_room):
    settings.NIGRANI_PUSH_RETENTION_DAYS = 30
    device = device_token_issue(
        officer=control_room, device_id="phone-1", device_name="p"
    ).device_token

    def push(status: str, days_ago: int) -> PushMessage:
        message = PushMessage.objects.create(
            officer=control_room, device_token=device, purpose="alert", data={}, status=status
        )
        age(PushMessage.objects.filter(pk=message.pk), updated_at=days_ago)
        return message

    gone = [push(status, 31) for status in pushes.FINAL_PUSH_STATUSES]
    kept = [
        push(PushStatus.QUEUED, 400),
        push(PushStatus.SENDING, 400),
        push(PushStatus.SENT, 29),
        push(PushStatus.DEAD, 1),
    ]

    assert pushes.push_messages_prune() == len(gone)

    assert set(PushMessage.objects.values_list("pk", flat=True)) == {m.pk for m in kept}


def plan_of(sql: str) -> str:
    """The plan PostgreSQL picks for ``sql`` (not run), as JSON text."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        return json.dumps(cursor.fetchone()[0])


def test_the_push_prune_finds_its_rows_through_the_status_updated_index(control_room):
    """A night with nothing past retention (and every prune's last, short chunk) must not
    read the whole outbox: the prune's DELETE, as sent, goes through the index."""
    device = device_token_issue(
        officer=control_room, device_id="phone-1", device_name="p"
    ).device_token
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO push_pushmessage (created_at, updated_at, message_id, officer_id,"
            " device_token_id, purpose, data, status, attempts, last_error)"
            " SELECT now() - g * interval '1 minute', now() - g * interval '1 minute',"
            " gen_random_uuid(), %s, %s, 'alert', '{}', %s, 1, ''"
            " FROM generate_series(1, 20000) AS g",
            [control_room.pk, device.pk, PushStatus.SENT.value],
        )
        cursor.execute("ANALYZE push_pushmessage")

    with CaptureQueriesContext(connection) as queries:
        assert pushes.push_messages_prune() == 0

    (delete,) = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert "pushmessage_status_updated_idx" in plan_of(delete)


# --- the SMS outbox ------------------------------------------------------------------------


def sms(status: str, days_ago: int) -> SmsMessage:
    """An outbox message queued ``days_ago`` days ago, now in ``status``."""
    message = sms_enqueue(to="+923001234567", text="Nigrani test", purpose="test_notice")
    SmsMessage.objects.filter(pk=message.pk).update(status=status)
    age(SmsMessage.objects.filter(pk=message.pk), created_at=days_ago)
    return message


def test_sms_out_of_the_queue_past_retention_go_and_pending_ones_never(settings):
    settings.NIGRANI_SMS_RETENTION_DAYS = 90
    gone = [sms(status, 91) for status in LEFT_QUEUE_STATUSES]
    kept = [
        sms(SmsStatus.QUEUED, 400),
        sms(SmsStatus.SENDING, 400),
        sms(SmsStatus.SENT, 89),
        sms(SmsStatus.FAILED, 1),
    ]

    assert services.sms_messages_prune() == len(gone)

    assert set(SmsMessage.objects.values_list("pk", flat=True)) == {m.pk for m in kept}


def test_the_sms_prune_is_one_delete_per_chunk_and_a_texted_receipt_stays(settings):
    """Nothing loaded into Python (the texts are encrypted; a chunk is one DELETE), and the
    receipt whose SMS went keeps its row, unlinked."""
    settings.NIGRANI_SMS_RETENTION_DAYS = 90
    old = [sms(SmsStatus.DELIVERED, 100) for _ in range(3)]
    receipt = Receipt.objects.create(
        reference="R12345678",
        kind="checkin",
        offender_id=1,
        object_type="checkin",
        object_id="1",
        recorded_at=timezone.now(),
        language="ur",
        sms=old[0],
    )

    with CaptureQueriesContext(connection) as queries:
        assert services.sms_messages_prune(chunk=2) == 3

    sent = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(sent) == 2
    assert all(sql.startswith("DELETE") and "LIMIT 2" in sql for sql in sent)
    receipt.refresh_from_db()
    assert receipt.sms_id is None
    assert not SmsMessage.objects.exists()


def test_the_sms_prune_job_prunes_and_logs_the_count(settings, caplog):
    settings.NIGRANI_SMS_RETENTION_DAYS = 90
    sms(SmsStatus.SENT, 91)
    sms(SmsStatus.QUEUED, 91)

    with caplog.at_level("INFO", logger="push.jobs"):
        assert jobs.prune_sms(timestamp=0) == 1

    assert "pruned 1 SMS past retention" in caplog.text
    assert SmsMessage.objects.get().status == SmsStatus.QUEUED


# --- the jobs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task", "cron"),
    [
        ("push.prune_sms", jobs.prune_sms, "10 22 * * *"),
        ("push.prune_alert_events", jobs.prune_alert_events, "15 22 * * *"),
        ("push.prune_ws_tickets", jobs.prune_ws_tickets, "20 22 * * *"),
        ("push.prune_pushes", jobs.prune_pushes, "25 22 * * *"),
    ],
)
def test_prune_jobs_are_registered_and_scheduled_nightly(name, task, cron):
    assert app.tasks[name] is task
    periodic = app.periodic_registry.periodic_tasks[(name, "")]
    assert periodic.task is task
    assert periodic.cron == cron  # 03:10-03:25 PKT; procrastinate's cron is UTC
    assert task.queue == "maintenance"


def test_the_event_prune_job_prunes_and_logs_the_count(settings, offender, caplog):
    settings.NIGRANI_ALERT_EVENT_RETENTION_DAYS = 90
    raise_for(offender)
    count = AlertEvent.objects.count()
    age(AlertEvent.objects.all(), created_at=91)

    with caplog.at_level("INFO", logger="push.jobs"):
        assert jobs.prune_alert_events(timestamp=0) == count

    assert f"pruned {count} alert events past retention" in caplog.text
    assert jobs.prune_ws_tickets(timestamp=0) == 0
    assert jobs.prune_pushes(timestamp=0) == 0
