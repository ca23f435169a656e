"""audit_record: content hash, the database-stamped transaction id, and values that survive
the round trip through PostgreSQL."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from audit.chain import CHAINED_FIELDS, content_hash
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record, audit_record_many
from audit.verification import event_leaves
from common.request_context import RequestContext, reset_request_context, set_request_context

pytestmark = pytest.mark.django_db


def _stored(event: AuditEvent) -> dict:
    """The event exactly as PostgreSQL gives it back."""
    return AuditEvent.objects.values("id", *CHAINED_FIELDS, "txid", "hash").get(id=event.id)


def _in_context(ctx: RequestContext, **kwargs) -> AuditEvent:
    token = set_request_context(ctx)
    try:
        return audit_record(actor=None, action=AuditAction.LOGIN_FAILED, **kwargs)
    finally:
        reset_request_context(token)


def test_event_hashes_its_content_and_carries_its_transaction_id(station_officer):
    event = audit_record(
        actor=station_officer,
        action=AuditAction.READ,
        object_type="offender",
        object_id=42,
        purpose="verification",
        details={"fields": ["address"]},
    )

    assert event.prev_hash is None
    stored = _stored(event)
    assert stored["hash"] == content_hash(stored)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        assert stored["txid"] == cursor.fetchone()[0]  # stamped by the database, not by us
    assert stored["actor_id"] == station_officer.id
    assert stored["actor_username"] == "station-officer"
    assert stored["role"] == "station_officer"
    assert stored["agency"] == "Punjab Police"
    assert stored["object_id"] == "42"


def test_the_transaction_id_cannot_be_chosen_by_the_writer(auditor):
    event = AuditEvent.objects.create(
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC), action=AuditAction.READ, hash="x", txid=1
    )
    event.refresh_from_db()
    assert event.txid != 1


def test_events_without_an_actor_keep_the_username(auditor):
    second = audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username="ghost")
    assert second.actor_id is None
    assert second.actor_username == "ghost"


def test_timestamp_with_microseconds_hashes_identically_when_read_back(auditor):
    instant = datetime(2026, 3, 1, 12, 34, 56, 789012, tzinfo=UTC)
    with time_machine.travel(instant, tick=False):
        event = audit_record(actor=auditor, action=AuditAction.READ)

    stored = _stored(event)
    assert stored["occurred_at"] == instant
    assert stored["occurred_at"].microsecond == 789012
    assert stored["occurred_at"].utcoffset() is not None
    assert content_hash(stored) == stored["hash"] == event.hash


@pytest.mark.parametrize(
    ("remote_addr", "stored_ip"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("not-an-address", None),
    ],
)
def test_client_address_is_stored_cleanly_and_hashes_identically_when_read_back(
    remote_addr, stored_ip
):
    event = _in_context(RequestContext(request_id="req-12345678", client_ip=remote_addr))

    stored = _stored(event)
    assert stored["client_ip"] == stored_ip
    assert content_hash(stored) == stored["hash"]


def test_details_round_trip_through_jsonb_hash_identically():
    event = audit_record(
        actor=None,
        action=AuditAction.IMPORT,
        details={"rows": 1e16, "ratio": 0.1, "ok": True, "skipped": None, "codes": ["a", "ب"]},
    )
    stored = _stored(event)
    assert content_hash(stored) == stored["hash"]


def test_non_json_details_are_refused_and_nothing_is_written():
    with pytest.raises(TypeError):
        audit_record(actor=None, action=AuditAction.READ, details={"at": datetime.now(tz=UTC)})
    assert not AuditEvent.objects.exists()


def test_many_events_are_what_one_call_each_writes_in_one_insert(
    station_officer, django_assert_num_queries
):
    calls = [
        {"actor": station_officer, "action": AuditAction.READ, "object_type": "offender"},
        {"actor": None, "action": AuditAction.CREATE, "object_type": "violation", "object_id": 7},
        {"actor": None, "action": AuditAction.LOGIN_FAILED, "username": "someone"},
    ]
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
        one_by_one = [
            _stored(audit_record(**call, details={"n": n})) for n, call in enumerate(calls)
        ]
        with django_assert_num_queries(1):
            many = audit_record_many(
                [{**call, "details": {"n": n}} for n, call in enumerate(calls)]
            )

    assert [event.id for event in many] == sorted(event.id for event in many)  # in order
    for single, event in zip(one_by_one, many, strict=True):
        stored = _stored(event)
        assert stored["hash"] == content_hash(stored) == single["hash"]
        assert stored["txid"] == single["txid"]  # the same transaction, stamped alike
        assert {k: stored[k] for k in CHAINED_FIELDS} == {k: single[k] for k in CHAINED_FIELDS}
    assert audit_record_many([]) == []


def test_many_events_with_one_not_json_write_nothing():
    with pytest.raises(TypeError):
        audit_record_many(
            [
                {"actor": None, "action": AuditAction.READ},
                {
                    "actor": None,
                    "action": AuditAction.READ,
                    "details": {"at": datetime.now(tz=UTC)},
                },
            ]
        )
    assert not AuditEvent.objects.exists()


def test_the_returned_event_is_the_row_as_read_back(station_officer):
    token = set_request_context(RequestContext(request_id="req-1", client_ip="10.0.0.7"))
    try:
        event = audit_record(
            actor=station_officer, action=AuditAction.READ, object_id=7, details={"a": [1]}
        )
    finally:
        reset_request_context(token)
    stored = AuditEvent.objects.get(id=event.id)
    for field in AuditEvent._meta.concrete_fields:
        assert getattr(event, field.attname) == getattr(stored, field.attname), field.attname
    assert not event._state.adding


def test_the_sealer_and_verifier_hash_rows_as_the_writer_did():
    """``event_leaves`` (COPY text, no ORM) recomputes exactly the hash ``audit_record`` wrote,
    whatever the content: quotes, control characters, any script, IPv6, nested details."""
    cases = [
        {"details": {"rows": 1e16, "ratio": 0.1, "nested": [2.0, {"z": None, "a": True}]}},
        {"object_id": 'quo"te\\slash\nnew\ttab\x01', "details": {"ب": "✓ 𝄞 \u2028"}},
        {"purpose": "", "outcome": "x" * 255, "details": {}},
    ]
    written = []
    for n, case in enumerate(cases):
        written.append(_in_context(RequestContext(client_ip="::ffff:10.0.0.1"), **case))
        written.append(
            audit_record(actor=None, action=AuditAction.READ, **{"object_id": n, **case})
        )
    with time_machine.travel(datetime(2026, 3, 1, 0, 0, 0, 0, tzinfo=UTC), tick=False):
        written.append(audit_record(actor=None, action=AuditAction.READ))  # .000000
    leaves = {event_id: (stored, hashed) for event_id, _, stored, hashed in event_leaves("true")}
    assert set(leaves) == {event.id for event in written}
    for event in written:
        assert leaves[event.id] == (event.hash, event.hash)
