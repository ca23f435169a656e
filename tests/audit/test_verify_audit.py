"""verify_audit against the database owner: every way of cutting, rewriting or forging the
trail is detected and named. Tampering runs as the owner would (triggers bypassed)."""

import base64
import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.chain import CHAINED_FIELDS, content_hash, event_hash, seal_mac
from audit.checkpoints import checkpoint_line, line_hash
from audit.keys import CheckpointKeys
from audit.models import AuditAction, AuditEvent, AuditSeal
from audit.services import audit_checkpoint_publish, audit_record, audit_seal
from audit.verification import SEAL_VALUES
from tests.audit.helpers import legacy_events, owner_access, raw_execute

pytestmark = pytest.mark.django_db(transaction=True)

BATCHES, PER_BATCH = 5, 20
ATTACKER_KEY = b"the-owner-does-not-have-the-real-key-0123"


def _write(n: int) -> list[AuditEvent]:
    return [
        audit_record(
            actor=None, username="io", action=AuditAction.READ, object_type="offender", object_id=i
        )
        for i in range(n)
    ]


def _seal() -> AuditSeal:
    seal = audit_seal()
    assert seal is not None
    return seal


@pytest.fixture
def trail() -> list[AuditEvent]:
    """100 events in 5 seals, and a signed checkpoint of the head."""
    events = []
    for _ in range(BATCHES):
        events += _write(PER_BATCH)
        _seal()
    audit_checkpoint_publish()
    return events


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def _broken() -> str:
    with pytest.raises(CommandError) as excinfo:
        _verify()
    message = str(excinfo.value)
    assert message.startswith("audit trail BROKEN")
    return message


def _checkpoints() -> Path:
    return Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH)


def _reseal_all_with(key: bytes) -> None:
    """What an owner without the key can do: recompute every digest and MAC with a key of
    their own, re-chained from the first seal."""
    seals = list(AuditSeal.objects.order_by("seq").values(*SEAL_VALUES))
    from audit.chain import BatchDigest

    previous_mac = None
    carried: list[int] = []
    with owner_access():
        for seal in seals:
            if seal["kind"] == "batch":
                batch = BatchDigest()
                rows = (
                    AuditEvent.objects.filter(txid__gte=seal["txid_lo"], txid__lt=seal["txid_hi"])
                    .exclude(txid__in=seal["pending_txids"])
                    .order_by("txid", "id")
                    .values("id", "txid", *CHAINED_FIELDS)
                )
                for row in rows:
                    batch.add(event_id=row["id"], txid=row["txid"], content=row)
                seal["event_count"], seal["digest"] = batch.count, batch.hexdigest()
            if previous_mac is not None:
                seal["prev_mac"] = previous_mac
            seal["mac"] = seal_mac(seal, key)
            raw_execute(
                "UPDATE audit_auditseal SET event_count = %s, digest = %s, prev_mac = %s,"
                " mac = %s WHERE seq = %s",
                [seal["event_count"], seal["digest"], seal["prev_mac"], seal["mac"], seal["seq"]],
            )
            previous_mac = seal["mac"]
            carried = seal["pending_txids"]
    assert carried is not None


def test_intact_trail_is_ok_with_its_counts_and_head(trail):
    output = _verify()
    assert (
        "audit trail OK: 100 events (0 in the old chain, 100 in newer seals, 0 not yet sealed)"
        in output
    )
    assert "6 seals; 1 signed checkpoints" in output
    head = AuditSeal.objects.order_by("-seq").first()
    assert f"head: seal {head.seq} {head.mac}" in output


def test_empty_trail_is_ok(db):
    assert "audit trail OK: 0 events" in _verify()


def test_edited_event_is_named(trail):
    edited = trail[42]
    with owner_access():
        raw_execute("UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [edited.id])
    message = _broken()
    assert f"event {edited.id}: its content does not match its hash (edited)" in message
    assert "seal 4 (event ids" in message
    assert "its events differ from what was sealed" in message


def test_edit_with_every_hash_and_link_recomputed_is_caught_by_the_mac(trail):
    edited = trail[42]
    content = AuditEvent.objects.values(*CHAINED_FIELDS).get(id=edited.id)
    content["outcome"] = "denied"
    with owner_access():
        raw_execute(
            "UPDATE audit_auditevent SET outcome = 'denied', hash = %s WHERE id = %s",
            [content_hash(content), edited.id],
        )
    _reseal_all_with(ATTACKER_KEY)
    message = _broken()
    assert "content does not match" not in message  # the event's own hash was recomputed
    assert "seal 1: MAC invalid (the seal was forged or rewritten without the key)" in message
    assert "seal 4: MAC invalid" in message
    assert "differs from checkpoint line 1" in message


def test_deleted_middle_event_is_named_with_its_seal(trail):
    removed = trail[50]
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [removed.id])
    message = _broken()
    assert "seal 4 (event ids" in message
    assert "1 of its 20 events are missing (deleted)" in message
    assert "1 of 100 sealed events are missing" in message


def test_deletion_with_the_rest_resealed_is_caught_by_the_mac_and_the_checkpoint(trail):
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[50].id])
    _reseal_all_with(ATTACKER_KEY)
    message = _broken()
    assert "missing (deleted)" not in message  # counts and digests were recomputed
    assert "seal 2: MAC invalid" in message
    assert "seal 6 differs from checkpoint line 1" in message


def test_newest_event_deleted_is_named(trail):
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[-1].id])
    message = _broken()
    assert "seal 6 (event ids" in message
    assert "1 of its 20 events are missing" in message


def test_newest_fifty_deleted_are_named(trail):
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id >= %s", [trail[50].id])
    message = _broken()
    assert "50 of 100 sealed events are missing" in message
    assert "seal 6 (event ids" in message
    assert "20 of its 20 events are missing" in message


def test_most_of_the_trail_deleted_is_named(trail):
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id > %s", [trail[29].id])
    assert "70 of 100 sealed events are missing" in _broken()


def test_truncated_event_table_is_named(trail):
    with owner_access():
        raw_execute("TRUNCATE audit_auditevent")
    assert "100 of 100 sealed events are missing (the table was truncated)" in _broken()


def test_both_tables_truncated_is_caught_by_the_checkpoint(trail):
    with owner_access():
        raw_execute("TRUNCATE audit_auditevent, audit_auditseal")
    message = _broken()
    assert "checkpoint line 1" in message
    assert "names seal 6 covering 100 events, but the database's newest seal is none" in message


def test_forged_event_backdated_into_a_sealed_batch_is_named(trail):
    victim = AuditEvent.objects.values("txid").get(id=trail[10].id)
    content = {
        **AuditEvent.objects.values(*CHAINED_FIELDS).get(id=trail[10].id),
        "outcome": "forged",
    }
    with owner_access():
        forged = AuditEvent.objects.create(**content, hash=content_hash(content))
        raw_execute(
            "UPDATE audit_auditevent SET txid = %s WHERE id = %s", [victim["txid"], forged.id]
        )
    message = _broken()
    assert "seal 2 (event ids" in message
    assert "1 events in its range were never sealed (inserted into the sealed past" in message


def test_forged_event_appended_with_a_forged_seal_is_caught_by_the_mac(trail):
    head = AuditSeal.objects.order_by("-seq").values(*SEAL_VALUES).first()
    forged_event = _write(1)[0]
    txid = AuditEvent.objects.values_list("txid", flat=True).get(id=forged_event.id)
    seal = {
        **head,
        "seq": head["seq"] + 1,
        "txid_lo": head["txid_hi"],
        "txid_hi": txid + 1,
        "pending_txids": [],
        "event_count": 1,
        "total_events": head["total_events"] + 1,
        "first_event_id": forged_event.id,
        "last_event_id": forged_event.id,
        "prev_mac": head["mac"],
    }
    from audit.chain import BatchDigest

    batch = BatchDigest()
    batch.add(
        event_id=forged_event.id,
        txid=txid,
        content=AuditEvent.objects.values(*CHAINED_FIELDS).get(id=forged_event.id),
    )
    seal["digest"] = batch.hexdigest()
    seal["mac"] = seal_mac(seal, ATTACKER_KEY)
    AuditSeal.objects.create(**seal)
    assert "seal 7: MAC invalid" in _broken()


def test_checkpoint_file_edited_is_named(trail):
    path = _checkpoints()
    record = json.loads(path.read_text())
    record["body"]["total_events"] = 80  # as if the newest 20 never existed
    path.write_text(json.dumps(record) + "\n")
    assert "checkpoint line 1: signature invalid for key 'sign1'" in _broken()


def test_checkpoint_signed_by_another_key_is_named(trail):
    other = CheckpointKeys.parse(
        "sign1:" + base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    )
    first = _checkpoints().read_text().splitlines()[0]
    body = {**json.loads(first)["body"], "prev": line_hash(first)}
    with _checkpoints().open("a") as handle:
        handle.write(checkpoint_line(body=body, keys=other) + "\n")
    assert "checkpoint line 2: signature invalid for key 'sign1'" in _broken()


def test_checkpoint_line_removed_is_named(trail):
    _write(3)
    _seal()
    audit_checkpoint_publish()
    _write(3)
    _seal()
    audit_checkpoint_publish()
    lines = _checkpoints().read_text().splitlines()
    _checkpoints().write_text(lines[0] + "\n" + lines[2] + "\n")
    assert "checkpoint line 2: does not follow line 1 (lines removed" in _broken()


def test_seals_left_out_of_checkpoints_for_long_are_named(trail):
    _write(2)
    seal = _seal()
    assert "audit trail OK" in _verify()  # fresh: the publisher has a minute to catch up
    with time_machine.travel(seal.sealed_at + timedelta(minutes=4)):
        assert f"seals {seal.seq}–{seal.seq} are older than 180 s and in no checkpoint" in _broken()


def test_no_checkpoint_at_all_is_named_once_sealing_is_old(trail):
    _checkpoints().unlink()
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        assert "no signed checkpoint at" in _broken()


def test_checkpoints_that_begin_long_after_sealing_are_named():
    # As if the first lines were cut off and the rest rebuilt by someone with the signing key
    # (or nobody published for minutes): the oldest seals were never anchored outside.
    _write(3)
    _seal()
    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later):
        audit_checkpoint_publish(now=later)
        assert "long after sealing began" in _broken()


def test_old_backup_restored_over_a_newer_checkpoint_is_named(trail):
    # Later work, sealed and checkpointed, then the database is put back to its state at the
    # first checkpoint (what restoring that night's backup does).
    newest_before = AuditSeal.objects.order_by("-seq").first()
    _write(7)
    _seal()
    audit_checkpoint_publish()
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id > %s", [trail[-1].id])
        raw_execute("DELETE FROM audit_auditseal WHERE seq > %s", [newest_before.seq])
    message = _broken()
    assert "checkpoint line 2" in message
    assert (
        f"names seal {newest_before.seq + 1} covering 107 events, but the database's newest "
        f"seal is {newest_before.seq} covering 100: seals {newest_before.seq + 1}–"
        f"{newest_before.seq + 1} and 7 events are missing"
    ) in message


def test_retired_seal_key_still_verifies_and_an_unknown_one_is_named(trail, settings):
    settings.NIGRANI_AUDIT_SEAL_KEYS = (
        "seal2:" + base64.b64encode(b"n" * 32).decode() + "," + settings.NIGRANI_AUDIT_SEAL_KEYS
    )
    _write(2)
    assert _seal().key_id == "seal2"
    audit_checkpoint_publish()
    assert "audit trail OK: 102 events" in _verify()
    settings.NIGRANI_AUDIT_SEAL_KEYS = "seal2:" + base64.b64encode(b"n" * 32).decode()
    assert "seal 1: made with unknown key 'seal1'" in _broken()


# --- the chain from before issue 15, migrated ---------------------------------------------


def test_existing_chain_is_anchored_by_the_first_seal_and_new_events_continue_from_it():
    old = legacy_events(7)
    assert all(event.prev_hash for event in old)
    _write(5)
    _seal()
    audit_checkpoint_publish()
    anchor = AuditSeal.objects.get(seq=1)
    assert anchor.kind == "legacy"
    assert (anchor.event_count, anchor.digest) == (7, old[-1].hash)
    assert AuditSeal.objects.get(seq=2).prev_mac == anchor.mac
    assert "audit trail OK: 12 events (7 in the old chain, 5 in newer seals" in _verify()


def test_old_chain_tampering_is_still_named_on_exactly_that_event():
    old = legacy_events(7)
    audit_seal()  # anchors the old chain (no new events to batch)
    with owner_access():
        raw_execute("UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [old[3].id])
    message = _broken()
    assert f"old chain BROKEN at event {old[3].id}: content hash mismatch" in message
    assert "3 events verified before it" in message


def test_old_chain_recomputed_after_an_edit_breaks_the_next_link():
    old = legacy_events(7)
    audit_seal()  # anchors the old chain (no new events to batch)
    content = AuditEvent.objects.values(*CHAINED_FIELDS).get(id=old[3].id)
    content["outcome"] = "denied"
    with owner_access():
        raw_execute(
            "UPDATE audit_auditevent SET outcome = 'denied', hash = %s WHERE id = %s",
            [event_hash(content, old[3].prev_hash), old[3].id],
        )
    assert f"old chain BROKEN at event {old[4].id}: prev_hash link broken" in _broken()


def test_old_chain_newest_event_deleted_is_named_by_the_anchor():
    old = legacy_events(7)
    audit_seal()  # anchors the old chain (no new events to batch)
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id = %s", [old[-1].id])
    assert "old chain (anchored by seal 1): the newest 1 of its 7 events are missing" in _broken()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("NIGRANI_AUDIT_SEAL_KEYS", "short:" + base64.b64encode(b"too short").decode()),
        ("NIGRANI_AUDIT_SEAL_KEYS", "no-colon"),
        ("NIGRANI_AUDIT_SIGNING_KEY", "s:" + base64.b64encode(b"x" * 31).decode()),
    ],
)
def test_malformed_audit_keys_fail_the_system_check(settings, setting, value):
    from audit.apps import _audit_keys_parse

    setattr(settings, setting, value)
    (error,) = _audit_keys_parse(None)
    assert error.id == "audit.E001"
    assert setting in error.msg
