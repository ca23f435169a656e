"""The canonical form and the chain walk, without a database."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.chain import (
    CHAINED_FIELDS,
    GENESIS_HASH,
    ROW_FIELDS,
    RowHasher,
    _normalise,
    chain_verify,
    event_hash,
)

PKT = timezone(timedelta(hours=5))


def _content(**overrides):
    content = {
        "occurred_at": datetime(2026, 3, 1, 7, 30, 0, 123456, tzinfo=UTC),
        "actor_id": 7,
        "actor_username": "station-officer",
        "role": "station_officer",
        "agency": "Punjab Police",
        "device_id": "",
        "client_ip": "10.0.0.5",
        "request_id": "req-000001",
        "action": "read",
        "object_type": "offender",
        "object_id": "42",
        "purpose": "verification",
        "outcome": "ok",
        "details": {"fields": ["address"]},
    }
    content.update(overrides)
    return content


def _chain(n):
    events, prev = [], GENESIS_HASH
    for i in range(1, n + 1):
        content = _content(object_id=str(i))
        digest = event_hash(content, prev)
        events.append({"id": i, **content, "prev_hash": prev, "hash": digest})
        prev = digest
    return events


def test_event_hash_is_sha256_of_sorted_canonical_json_including_prev_hash():
    content = _content()
    expected_payload = {name: content[name] for name in CHAINED_FIELDS}
    expected_payload["occurred_at"] = "2026-03-01T07:30:00.123456+00:00"
    expected_payload["prev_hash"] = GENESIS_HASH
    raw = json.dumps(expected_payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert event_hash(content, GENESIS_HASH) == hashlib.sha256(raw.encode()).hexdigest()


def test_every_chained_field_and_the_prev_hash_change_the_hash():
    base = event_hash(_content(), GENESIS_HASH)
    changed = {
        "occurred_at": datetime(2026, 3, 1, 7, 30, 0, 123457, tzinfo=UTC),
        "actor_id": 8,
        "actor_username": "someone-else",
        "role": "auditor",
        "agency": "NADRA",
        "device_id": "phone-1",
        "client_ip": "10.0.0.6",
        "request_id": "req-000002",
        "action": "update",
        "object_type": "officer",
        "object_id": "43",
        "purpose": "other",
        "outcome": "denied",
        "details": {"fields": ["phone"]},
    }
    assert set(changed) == set(CHAINED_FIELDS)
    for name, value in changed.items():
        assert event_hash(_content(**{name: value}), GENESIS_HASH) != base, name
    assert event_hash(_content(), "1" * 64) != base


def test_the_same_instant_in_another_timezone_hashes_the_same():
    utc = _content()
    pkt = _content(occurred_at=utc["occurred_at"].astimezone(PKT))
    assert event_hash(pkt, GENESIS_HASH) == event_hash(utc, GENESIS_HASH)


def test_a_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        event_hash(_content(occurred_at=datetime(2026, 3, 1, 7, 30)), GENESIS_HASH)


@pytest.mark.parametrize(
    ("written", "read_back"),
    [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("::FFFF:a00:1", "::ffff:10.0.0.1"),
    ],
)
def test_one_address_in_different_spellings_hashes_the_same(written, read_back):
    assert event_hash(_content(client_ip=written), GENESIS_HASH) == event_hash(
        _content(client_ip=read_back), GENESIS_HASH
    )


def test_integral_floats_in_details_hash_like_the_integers_jsonb_returns():
    as_written = _content(details={"distance_m": 1e16, "nested": [2.0, {"x": 0.5}]})
    as_read = _content(details={"distance_m": 10000000000000000, "nested": [2, {"x": 0.5}]})
    assert event_hash(as_written, GENESIS_HASH) == event_hash(as_read, GENESIS_HASH)


def test_details_that_are_not_plain_json_are_refused():
    with pytest.raises(ValueError, match="JSON"):
        event_hash(_content(details={"ratio": float("nan")}), GENESIS_HASH)
    with pytest.raises(TypeError):
        event_hash(_content(details={"when": datetime.now(tz=UTC)}), GENESIS_HASH)


def test_intact_chain_verifies_and_reports_its_head():
    events = _chain(5)
    report = chain_verify(iter(events))
    assert report.ok
    assert report.count == 5
    assert report.head_hash == events[-1]["hash"]


def test_empty_chain_verifies():
    report = chain_verify([])
    assert report.ok
    assert report.count == 0


def test_first_event_must_start_from_genesis():
    events = _chain(3)[1:]
    report = chain_verify(events)
    assert report.first_break.event_id == 2
    assert "genesis" in report.first_break.reason


def test_changed_content_is_named_on_exactly_that_event():
    events = _chain(5)
    events[2]["outcome"] = "denied"
    report = chain_verify(events)
    assert report.first_break.event_id == 3
    assert report.first_break.reason.startswith("content hash mismatch")


def test_removed_event_breaks_the_link_of_the_next_one():
    events = _chain(5)
    del events[2]
    report = chain_verify(events)
    assert report.first_break.event_id == 4
    assert report.first_break.reason.startswith("prev_hash link broken")
    assert "event 2" in report.first_break.reason


def test_fork_is_named_as_a_reused_hash():
    events = _chain(3)
    forked_content = _content(object_id="fork")
    fork = {
        "id": 4,
        **forked_content,
        "prev_hash": events[1]["hash"],
        "hash": event_hash(forked_content, events[1]["hash"]),
    }
    report = chain_verify([*events, fork])
    assert report.first_break.event_id == 4
    assert report.first_break.reason.startswith("hash reused")


# --- the written-out payload and the row hasher --------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)  # no lone surrogates
_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _FINITE | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


def _reference_hash(content, prev_hash):
    """The canonical form as first specified: json.dumps of the normalised dict, sorted."""
    canonical = {name: _normalise(name, content.get(name)) for name in CHAINED_FIELDS}
    canonical["prev_hash"] = prev_hash
    payload = json.dumps(
        canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@settings(max_examples=300, deadline=None)
@given(
    texts=st.fixed_dictionaries(
        {
            name: _TEXT
            for name in CHAINED_FIELDS
            if name not in ("occurred_at", "actor_id", "client_ip", "details")
        }
    ),
    actor_id=st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    details=st.dictionaries(_TEXT, _JSON, max_size=4),
    prev_hash=st.sampled_from(["", GENESIS_HASH]),
)
def test_written_out_payload_hashes_exactly_as_sorted_json_dumps(
    texts, actor_id, details, prev_hash
):
    content = _content(**texts, actor_id=actor_id, details=details)
    assert event_hash(content, prev_hash) == _reference_hash(content, prev_hash)


def _as_database_text(content):
    """One event as the verifier's COPY renders it (``ROW_FIELDS``, text)."""
    rendered = {
        **content,
        "actor_id": None if content["actor_id"] is None else str(content["actor_id"]),
        "occurred_at": content["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "details": json.dumps(content["details"], ensure_ascii=False),
    }
    return tuple(rendered[name] for name in ROW_FIELDS)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"actor_id": None, "client_ip": None, "details": {}},
        {"client_ip": "::ffff:10.0.0.1", "details": {"z": [1, 2.5, None], "a": {"b": True}}},
        {"actor_username": 'quo"te\\back\nline\t\x00\x1f', "object_id": "ب ✓ 𝄞"},
        {"details": {"n": 1e16, "f": 2.0, "text": "é\u2028"}},
    ],
)
def test_row_hasher_agrees_with_event_hash(overrides):
    content = _content(**overrides)
    hasher = RowHasher()
    for _ in range(2):  # the second time from its caches
        assert hasher.content_hash(_as_database_text(content)) == event_hash(content, "")
    assert hasher.content_hash(_as_database_text(content), GENESIS_HASH) == event_hash(
        content, GENESIS_HASH
    )
