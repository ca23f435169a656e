"""The audit trail API: auditors read and filter it, nobody else can, and every read is audited."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.chain import CHAINED_FIELDS, content_hash
from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

LIST_URL = "/api/v1/audit/events/"
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)

NOT_AUDITORS = [
    "registry_admin",
    "system_admin",
    "data_entry",
    "prison_officer",
    "station_officer",
    "beat_officer",
    "control_room",
    "investigating_officer",
    "district_prosecutor",
]


def _detail_url(event_id: int) -> str:
    return f"{LIST_URL}{event_id}/"


@pytest.fixture
def trail(station_officer, control_room) -> dict[str, AuditEvent]:
    """Four events an hour apart, differing in every filterable field."""
    events = {}
    specs = [
        ("read_offender", station_officer, AuditAction.READ, "offender", "17", "verification"),
        ("update_offender", station_officer, AuditAction.UPDATE, "offender", "18", ""),
        ("read_alert", control_room, AuditAction.READ, "alert", "17", "response"),
        ("login_failed", None, AuditAction.LOGIN_FAILED, "", "", ""),
    ]
    for hour, (name, actor, action, object_type, object_id, purpose) in enumerate(specs):
        with time_machine.travel(T0 + timedelta(hours=hour), tick=False):
            events[name] = audit_record(
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                purpose=purpose,
                username="ghost",
            )
    return events


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def _only_trail(ids: list[int], trail: dict[str, AuditEvent]) -> set[str]:
    by_id = {event.id: name for name, event in trail.items()}
    return {by_id[i] for i in ids if i in by_id}


def test_auditor_lists_the_trail_newest_first_with_hashes(client_for, auditor, trail):
    response = client_for(auditor).get(LIST_URL)

    rows = response.json()["results"]
    assert _ids(response) == sorted(_ids(response), reverse=True)
    assert _only_trail(_ids(response), trail) == set(trail)
    row = next(r for r in rows if r["id"] == trail["read_offender"].id)
    assert row["action"] == "read"
    assert row["actor_username"] == "station-officer"
    assert row["object_type"] == "offender"
    assert row["object_id"] == "17"
    assert row["purpose"] == "verification"
    assert row["hash"] == trail["read_offender"].hash
    assert row["prev_hash"] is None  # sealed in batches since issue 15, not chained one by one


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "read"}, {"read_offender", "read_alert"}),
        ({"object_type": "offender"}, {"read_offender", "update_offender"}),
        ({"object_type": "offender", "object_id": "17"}, {"read_offender"}),
        ({"purpose": "response"}, {"read_alert"}),
        ({"since": "2026-03-01T07:00:00Z"}, {"update_offender", "read_alert", "login_failed"}),
        ({"until": "2026-03-01T07:00:00Z"}, {"read_offender"}),
        (
            {"since": "2026-03-01T12:00:00+05:00", "until": "2026-03-01T08:30:00Z"},
            {"update_offender", "read_alert"},
        ),
    ],
)
def test_auditor_filters_the_trail(client_for, auditor, trail, query, expected):
    response = client_for(auditor).get(LIST_URL, query)
    assert _only_trail(_ids(response), trail) == expected


def test_auditor_filters_by_actor(client_for, auditor, control_room, trail):
    response = client_for(auditor).get(LIST_URL, {"actor": control_room.id})
    assert _ids(response) == [trail["read_alert"].id]


def test_auditor_filters_by_request_id(client_for, auditor, trail):
    client = client_for(auditor)
    client.get(LIST_URL, HTTP_X_REQUEST_ID="req-find-me-0001")

    response = client.get(LIST_URL, {"request_id": "req-find-me-0001"})

    rows = response.json()["results"]
    assert len(rows) == 1
    assert rows[0]["object_type"] == "audit_event"
    assert rows[0]["actor_username"] == "auditor"


def test_list_pages_with_a_cursor(client_for, auditor, trail):
    client = client_for(auditor)
    first = client.get(LIST_URL, {"page_size": 2, "object_type": "offender"})
    assert _ids(first) == [trail["update_offender"].id, trail["read_offender"].id]
    assert first.json()["next"] is None

    first = client.get(LIST_URL, {"page_size": 1, "object_type": "offender"})
    second = client.get(first.json()["next"])
    assert _ids(first) + _ids(second) == [trail["update_offender"].id, trail["read_offender"].id]


def test_auditor_reads_one_event(client_for, auditor, trail):
    event = trail["update_offender"]
    response = client_for(auditor).get(_detail_url(event.id))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == event.id
    assert body["action"] == "update"
    assert body["hash"] == event.hash


def test_missing_event_is_404_with_the_error_body(client_for, auditor, trail):
    response = client_for(auditor).get(_detail_url(10**9))

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found"
    assert body["request_id"] == response["X-Request-ID"]


def test_reading_the_list_is_itself_audited_with_the_filters(client_for, auditor, trail):
    before = AuditEvent.objects.count()
    response = client_for(auditor).get(
        LIST_URL, {"action": "read", "object_type": "offender", "since": "2026-03-01T06:00:00Z"}
    )

    assert response.status_code == 200
    assert AuditEvent.objects.count() == before + 1
    read = AuditEvent.objects.order_by("-id").first()
    assert read.action == AuditAction.READ
    assert read.object_type == "audit_event"
    assert read.actor_id == auditor.id
    assert read.details["returned"] == 1
    filters = read.details["filters"]
    assert filters["action"] == "read"
    assert filters["object_type"] == "offender"
    assert datetime.fromisoformat(filters["since"]) == T0
    # The read carries its content hash like everything else (sealed once this commits).
    assert read.hash == content_hash(AuditEvent.objects.values(*CHAINED_FIELDS).get(id=read.id))


def test_reading_one_event_is_audited_with_its_id(client_for, auditor, trail):
    event = trail["read_alert"]
    client_for(auditor).get(_detail_url(event.id))

    read = AuditEvent.objects.order_by("-id").first()
    assert (read.action, read.object_type, read.object_id) == ("read", "audit_event", str(event.id))


def test_audit_record_captures_the_request_context(client_for, auditor):
    response = client_for(auditor).get(
        LIST_URL,
        HTTP_X_REQUEST_ID="req-context-0001",
        HTTP_X_DEVICE_ID="phone-7",
        REMOTE_ADDR="203.0.113.9",
    )

    assert response["X-Request-ID"] == "req-context-0001"
    read = AuditEvent.objects.order_by("-id").first()
    assert read.request_id == "req-context-0001"
    assert read.client_ip == "203.0.113.9"
    assert read.device_id == "phone-7"


def test_a_request_without_an_id_gets_one_and_the_audit_event_carries_it(client_for, auditor):
    response = client_for(auditor).get(LIST_URL)

    read = AuditEvent.objects.order_by("-id").first()
    assert read.request_id
    assert read.request_id == response["X-Request-ID"]


@pytest.mark.parametrize("persona", NOT_AUDITORS)
def test_other_roles_are_refused_with_403_and_see_nothing(request, client_for, trail, persona):
    officer = request.getfixturevalue(persona)
    client = client_for(officer)
    before = AuditEvent.objects.count()

    for url in (LIST_URL, _detail_url(trail["read_offender"].id)):
        response = client.get(url)
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "permission_denied"
        assert set(body) >= {"code", "message", "fields", "request_id"}
        assert "results" not in body
    assert AuditEvent.objects.count() == before


def test_deactivated_auditor_is_refused(client_for, auditor, trail):
    auditor.is_active = False
    auditor.save()
    assert client_for(auditor).get(LIST_URL).status_code == 403


def test_anonymous_is_401(api_client, trail):
    for url in (LIST_URL, _detail_url(trail["read_offender"].id)):
        response = api_client.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"actor": "station-officer"}, "actor"),
        ({"action": "shred"}, "action"),
        ({"object_id": "x" * 65}, "object_id"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_filters_are_400_with_field_errors(client_for, auditor, query, field):
    before = AuditEvent.objects.count()
    response = client_for(auditor).get(LIST_URL, query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == [field]
    assert body["request_id"] == response["X-Request-ID"]
    assert AuditEvent.objects.count() == before


def test_list_query_count_is_pinned(
    client_for, auditor, station_officer, django_assert_num_queries
):
    for n in range(60):
        audit_record(actor=station_officer, action=AuditAction.READ, object_id=n)
    client = client_for(auditor)

    # One page query, then the audited read: one insert (no lock, no head to read).
    with django_assert_num_queries(2):
        response = client.get(LIST_URL, {"page_size": 50})
    assert len(response.json()["results"]) == 50


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0001-01-01T00:00:00"},
        {"until": "0001-01-01T00:00:00"},
        {"since": "9999-12-31T23:59:59"},
        {"until": "1899-12-31T23:59:59Z"},
    ],
)
def test_out_of_range_datetimes_are_a_400_on_the_field(client_for, auditor, query):
    response = client_for(auditor).get(LIST_URL, query)

    assert response.status_code == 400
    [field] = query
    assert field in response.json()["fields"]


def _forged_cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


@pytest.mark.parametrize("raw", ["p=x", "p=\x00", "p=2026-01-01 10:00:00", "p=1e400", "o=-5"])
def test_forged_cursor_is_400_on_the_cursor_field(client_for, auditor, trail, raw):
    # Regression: a cursor position the id column cannot hold was a 500 (ValueError).
    response = client_for(auditor).get(LIST_URL, {"cursor": _forged_cursor(raw)})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["fields"] == {"cursor": ["Invalid cursor."]}
