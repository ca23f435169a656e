"""Writing the audit trail. Every read and write of offender data goes through ``audit_record``."""

import json
import logging
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit import hooks
from audit.chain import (
    GENESIS_HASH,
    SEAL_GENESIS,
    BatchDigest,
    content_hash,
    seal_mac,
)
from audit.checkpoints import checkpoint_append, settings_checkpoint_sinks
from audit.keys import settings_checkpoint_keys, settings_seal_keys
from audit.models import (
    AuditAction,
    AuditEvent,
    AuditSeal,
    CheckpointPublication,
    DenialWindow,
    SealKind,
)
from audit.verification import TrailReport, audit_trail_verify, event_leaves
from common.net import clean_ip as _clean_ip
from common.request_context import get_request_context

logger = logging.getLogger(__name__)


def audit_record(
    *,
    actor: Any | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    purpose: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event, inside the caller's transaction (or its own): the event commits
    with the write it records, or neither does. Takes no shared lock; the event is sealed
    (linked into the keyed chain) within about a second of its transaction's end.

    ``details`` must never contain protected values (CNIC, names, phone numbers, OTPs) and
    must be plain JSON; ``username`` names the account for events without an authenticated
    actor (failed logins).
    """
    content = _event_content(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        outcome=outcome,
        details=details,
        username=username,
    )
    digest = content_hash(content)  # refuses non-JSON details before anything is written
    # No lock: a plain insert in the caller's transaction. The database stamps ``txid``; the
    # sealer links the event once its transaction has ended (``audit_seal``).
    return _event_insert(content, digest)


def audit_record_many(events: Sequence[dict[str, Any]]) -> list[AuditEvent]:
    """``audit_record`` for many events in one INSERT, in order: each item holds
    ``audit_record``'s keyword arguments. For a service that records a batch (a ping batch's
    breaches); the same content and hash as one ``audit_record`` call per item, and like it
    no lock. One item that is not plain JSON writes nothing."""
    rows = []
    for event in events:
        content = _event_content(**event)
        rows.append(AuditEvent(**content, hash=content_hash(content)))
    return AuditEvent.objects.bulk_create(rows)


def _event_content(
    *,
    actor: Any | None,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    purpose: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    username: str = "",
) -> dict[str, Any]:
    ctx = get_request_context()
    officer = actor if actor is not None and getattr(actor, "pk", None) is not None else None
    agency = getattr(officer, "agency", None)
    return {
        "actor_id": officer.pk if officer is not None else None,
        "actor_username": officer.username if officer is not None else username,
        "role": getattr(officer, "role", "") if officer is not None else "",
        "agency": agency.name if agency else "",
        "device_id": ctx.device_id,
        "client_ip": _clean_ip(ctx.client_ip),
        "request_id": ctx.request_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "purpose": purpose or "",
        "outcome": outcome[:255],
        "details": details or {},
        "occurred_at": timezone.now(),
    }


# The append as one fixed statement: the ORM's insert compiles the same SQL afresh for every
# event (per-field preparation, quoting), which cost more CPU than the database's own work on
# the row. Every concrete field but ``id``, ``prev_hash`` and ``txid`` is written (defaults
# are never relied on), so the statement and the model cannot drift apart unnoticed
# (tests/audit/test_services.py compares an event written here with one read back).
_EVENT_FIELDS = tuple(
    f.attname
    for f in AuditEvent._meta.concrete_fields
    if f.attname not in ("id", "prev_hash", "txid")
)
_ALL_FIELDS = [f.attname for f in AuditEvent._meta.concrete_fields]
_EVENT_INSERT = (
    f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(_EVENT_FIELDS)})"  # noqa: S608 - names from the model
    f" VALUES ({', '.join('%s::jsonb' if name == 'details' else '%s' for name in _EVENT_FIELDS)})"
    " RETURNING id, txid"
)


def _event_insert(content: dict[str, Any], digest: str) -> AuditEvent:
    row = {**content, "hash": digest, "details": json.dumps(content["details"])}
    with connection.cursor() as cursor:
        cursor.execute(_EVENT_INSERT, [row[name] for name in _EVENT_FIELDS])
        event_id, txid = cursor.fetchone()
    # The instance as a read would build it (positional, like ``Model.from_db``): no second
    # query, and none of the ORM's per-field work on the way in.
    values = {**content, "id": event_id, "prev_hash": None, "hash": digest, "txid": txid}
    return AuditEvent.from_db(connection.alias, _ALL_FIELDS, [values[name] for name in _ALL_FIELDS])


# --- refused access ---------------------------------------------------------------------------

_METHOD_ACTIONS = {
    "GET": AuditAction.READ,
    "HEAD": AuditAction.READ,
    "POST": AuditAction.CREATE,
    "PUT": AuditAction.UPDATE,
    "PATCH": AuditAction.UPDATE,
    "DELETE": AuditAction.DELETE,
}
AUDIT_DENIALS = "audit_denials"  # object_type of the event that says the cap was reached
DENIALS_CAPPED = "capped"


def _denial_count(*, actor_id: int, window_start: datetime) -> int:
    """Count one refusal in the officer's current minute and return the new count (an upsert:
    concurrent refusals of one officer queue on that one row, nobody else's)."""
    table = DenialWindow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (actor_id, window_start, count) VALUES (%s, %s, 1) "  # noqa: S608 - table name from the model
            f"ON CONFLICT (actor_id, window_start) DO UPDATE SET count = {table}.count + 1 "
            "RETURNING count",
            [actor_id, window_start],
        )
        return cursor.fetchone()[0]


def audit_refusal_record(
    *, actor: Any, method: str, outcome: str, object_type: str, object_id: str, view: str
) -> AuditEvent | None:
    """Record one refused request (403 ``denied`` / 404 ``not_found``) on offender data.

    At most ``NIGRANI_AUDIT_DENIALS_PER_MINUTE`` events per officer per minute, then one event
    saying the cap was reached (the rest of that minute is counted in ``DenialWindow`` only),
    so a flood cannot fill the trail. At ``NIGRANI_AUDIT_DENIAL_BURST`` in a minute the
    ``denial_burst`` hook tells the NPB, once per minute. Returns the event written, if any.
    """
    now = timezone.now()
    window_start = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        count = _denial_count(actor_id=actor.pk, window_start=window_start)
        cap = settings.NIGRANI_AUDIT_DENIALS_PER_MINUTE
        if count == settings.NIGRANI_AUDIT_DENIAL_BURST:
            hooks.call("denial_burst", actor=actor, count=count, window_start=window_start)
        if count <= cap:
            return audit_record(
                actor=actor,
                action=_METHOD_ACTIONS.get(method.upper(), AuditAction.READ),
                object_type=object_type[:64],
                object_id=object_id,
                outcome=outcome,
                details={"view": view[:100], "method": method.upper()[:10]},
            )
        if count == cap + 1:
            return audit_record(
                actor=actor,
                action=AuditAction.READ,
                object_type=AUDIT_DENIALS,
                outcome=DENIALS_CAPPED,
                details={"cap_per_minute": cap, "window_start": window_start.isoformat()},
            )
    return None


def audit_denial_windows_prune(*, now: datetime | None = None) -> int:
    """Forget refusal counters older than a day (the events themselves stay forever)."""
    horizon = (now or timezone.now()) - timedelta(days=1)
    deleted, _ = DenialWindow.objects.filter(window_start__lt=horizon).delete()
    return deleted


# --- sealing ---------------------------------------------------------------------------------

# Taken only by sealers (with try: a second sealer skips its turn), never by writers.
_SEALER_LOCK_KEY = 0x4E475345  # "NGSE"


def _transaction_snapshot() -> tuple[int, list[int]]:
    """``(xmax, in_progress)`` of the current snapshot: every transaction id below ``xmax``
    has ended except those in ``in_progress`` (top-level ids, cluster-wide).

    So the events of the ids below ``xmax`` and not in progress are committed and final
    (their transactions can write no more; a rolled-back one left nothing), and a seal may
    take them. The ids still in progress are written into the seal and carried: their events,
    if any, join the first later seal taken after they end. A transaction that commits after
    later ones is thus sealed later, never skipped, and a long transaction (an import, another
    database's work on this server) delays only its own events, not everyone's.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmax(s)::text::bigint,"
            " ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x ORDER BY 1)"
            " FROM pg_current_snapshot() AS s"
        )
        xmax, in_progress = cursor.fetchone()
    return xmax, list(in_progress)


def _seal_append(*, previous: AuditSeal | None, **fields) -> AuditSeal:
    keys = settings_seal_keys()
    seal = {
        "seq": previous.seq + 1 if previous else 1,
        "prev_mac": previous.mac if previous else SEAL_GENESIS,
        "key_id": keys.active_kid,
        "sealed_at": timezone.now(),
        **fields,
    }
    return AuditSeal.objects.create(**seal, mac=seal_mac(seal, keys.active))


def _seal_legacy() -> AuditSeal:
    """The first seal anchors the chain written before issue 15: its length and head hash
    (the old chain is still walked event by event by the verifier)."""
    legacy = AuditEvent.objects.filter(txid__isnull=True)
    newest = legacy.order_by("-id").values("id", "hash").first()
    oldest_id = legacy.order_by("id").values_list("id", flat=True).first()
    count = legacy.count()
    return _seal_append(
        previous=None,
        kind=SealKind.LEGACY,
        txid_lo=0,
        txid_hi=0,
        pending_txids=[],
        event_count=count,
        total_events=count,
        first_event_id=oldest_id,
        last_event_id=newest["id"] if newest else None,
        digest=newest["hash"] if newest else GENESIS_HASH,
    )


def audit_seal() -> AuditSeal | None:
    """Seal every event of every transaction that has ended since the last seal, in
    ``(txid, id)`` order, as one new seal (see ``_transaction_snapshot`` for why none is
    skipped); returns it (None: nothing new, or another sealer
    is at work). Never updates an event. Killed half-way, it leaves nothing: the seal is one
    transaction, and the next run starts again from the last committed seal.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEALER_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return None
        xmax, in_progress = _transaction_snapshot()
        head = AuditSeal.objects.order_by("-seq").first() or _seal_legacy()
        if xmax <= head.txid_hi and set(head.pending_txids) <= set(in_progress):
            return None  # no transaction has ended since the last seal
        # The events of [head's xmax, this xmax) and of the head's pending transactions,
        # less those still in progress, in (txid, id) order: the order the verifier uses.
        batch = BatchDigest()
        add_leaf = batch.add_leaf
        for event_id, txid, _stored, hashed in event_leaves(
            "(txid >= {} AND txid < {} OR txid = ANY({}::bigint[])) AND txid <> ALL({}::bigint[])",
            [head.txid_hi, xmax, head.pending_txids, in_progress],
        ):
            add_leaf(event_id, txid, hashed)
        if batch.count == 0:
            return None  # the next seal still starts from the head: nothing is lost
        pending = [txid for txid in in_progress if txid < xmax]
        return _seal_append(
            previous=head,
            kind=SealKind.BATCH,
            txid_lo=head.txid_hi,
            txid_hi=xmax,
            pending_txids=pending,
            event_count=batch.count,
            total_events=head.total_events + batch.count,
            first_event_id=batch.first_event_id,
            last_event_id=batch.last_event_id,
            digest=batch.hexdigest(),
        )


class CheckpointPublishError(RuntimeError):
    """A checkpoint could not be published to some sinks (``failed``: sink name → what went
    wrong, an exception class and error code, never a value). The sinks that took it are in
    ``published``; the caller retries the failed ones."""

    def __init__(self, failed: dict[str, str], published: dict[str, str]) -> None:
        self.failed = failed
        self.published = published
        super().__init__(
            "checkpoint not published to "
            + ", ".join(f"{sink} ({error})" for sink, error in failed.items())
        )


def _error_summary(exc: BaseException) -> str:
    """What went wrong, safe to log and store: the exception's class and, for a store's
    refusal, its error code (never its message, which may quote a URL or a body)."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
    return f"{type(exc).__name__}: {code}"[:200] if code else type(exc).__name__[:200]


def _publication_record(*, sink: str, at: datetime, seq: int | None, error: str = "") -> None:
    """Note one publish attempt's outcome for monitoring (a conditional upsert per sink)."""
    row, _ = CheckpointPublication.objects.get_or_create(sink=sink)
    if not error:
        CheckpointPublication.objects.filter(pk=row.pk).update(
            last_published_at=at, last_seq=seq, failing_since=None, failures=0, last_error=""
        )
        return
    CheckpointPublication.objects.filter(pk=row.pk, failing_since__isnull=True).update(
        failing_since=at
    )
    CheckpointPublication.objects.filter(pk=row.pk).update(
        failures=F("failures") + 1, last_error=error
    )


def audit_checkpoint_publish(
    *, now: datetime | None = None, only: Collection[str] | None = None
) -> str | None:
    """Sign the newest seal and publish it to every configured sink (``only``: just those
    named, to retry the ones that failed). Returns the line published (None: nothing sealed
    yet). A sink that fails does not stop the others; then ``CheckpointPublishError`` names
    each failed sink after all were tried, the failure is logged (sink and error class only)
    and recorded for ``/readyz``, and the caller retries: a checkpoint is never silently lost.
    """
    head = (
        AuditSeal.objects.order_by("-seq").values("seq", "mac", "total_events", "txid_hi").first()
    )
    if head is None:
        return None
    at = now or timezone.now()
    published_at = at.isoformat(timespec="seconds")
    keys = settings_checkpoint_keys()
    published: dict[str, str] = {}
    failed: dict[str, str] = {}
    for sink in settings_checkpoint_sinks():
        if only is not None and sink.name not in only:
            continue
        try:
            published[sink.name] = checkpoint_append(
                sink, keys=keys, head=dict(head), published_at=published_at
            )
        except Exception as exc:  # any store failure is reported and retried, never raised raw
            failed[sink.name] = _error_summary(exc)
            logger.error(  # noqa: TRY400 - no traceback: it may quote URLs and bodies
                "audit checkpoint of seal %s NOT published to %s (%s): %s",
                head["seq"],
                sink.name,
                sink.describe(),
                failed[sink.name],
            )
        _publication_record(sink=sink.name, at=at, seq=head["seq"], error=failed.get(sink.name, ""))
    if failed:
        raise CheckpointPublishError(failed, published)
    return next(iter(published.values()), None)


# --- verifying --------------------------------------------------------------------------------

AUDIT_CHAIN = "audit_chain"  # object_type of the events that record a verification
CHAIN_OK = "ok"
CHAIN_BROKEN = "broken"


def audit_read(
    *,
    actor: Any | None,
    object_type: str,
    object_id: str | int = "",
    purpose: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    search: bool = False,
) -> AuditEvent:
    """Record that the actor read something (``search``: looked rows up by criteria): the one
    form of every audited read (API views, admin pages, the chain check), so none can forget
    the action or spell it differently. It lives here, not in ``common``'s API plumbing,
    because ``common`` may not import ``audit`` (the layer order); it takes the actor, not
    the request, so it is a service."""
    return audit_record(
        actor=actor,
        action=AuditAction.SEARCH if search else AuditAction.READ,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        outcome=outcome,
        details=details,
    )


def audit_trail_check(*, chunk_size: int = 5000) -> TrailReport:
    """Verify the trail and record the verdict in the trail itself (a read of every event).

    The verdict event names only ids and counts; it is appended after the walk, so it is
    covered by the next verification, not this one.
    """
    report = audit_trail_verify(chunk_size=chunk_size)
    audit_read(
        actor=None,
        object_type=AUDIT_CHAIN,
        object_id=report.first_broken_event_id or "",
        outcome=CHAIN_OK if report.ok else CHAIN_BROKEN,
        details={
            "events": report.events,
            "seals": report.seals,
            "problems": len(report.problems),
            "first_broken_id": report.first_broken_event_id,
        },
    )
    return report
