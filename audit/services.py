"""Writing the audit trail. Every read and write of offender data goes through ``audit_record``."""

from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, event_hash
from audit.models import AuditEvent
from common.request_context import get_request_context

# One advisory lock serialises chain appends: the lock is held until the surrounding
# transaction commits, so the next writer always sees the committed head and the chain
# never forks (and id order is chain order).
_CHAIN_LOCK_KEY = 0x4E494752  # "NIGR"


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
    """Append one event to the chain, inside the caller's transaction (or its own).

    ``details`` must never contain protected values (CNIC, names, phone numbers, OTPs);
    ``username`` names the account for events without an authenticated actor (failed logins).
    """
    ctx = get_request_context()
    is_officer = actor is not None and getattr(actor, "pk", None) is not None
    agency = getattr(actor, "agency", None) if is_officer else None
    content: dict[str, Any] = {
        # Truncated to microseconds in UTC so the stored value hashes the same when re-read.
        "occurred_at": timezone.now().astimezone(UTC),
        "actor_id": actor.pk if is_officer else None,
        "actor_username": actor.username if is_officer else username,
        "role": getattr(actor, "role", "") if is_officer else "",
        "agency": agency.name if agency else "",
        "device_id": ctx.device_id,
        "client_ip": ctx.client_ip,
        "request_id": ctx.request_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id not in (None, "") else "",
        "purpose": purpose or "",
        "outcome": outcome[:255],
        "details": details or {},
    }
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        head = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev_hash = head or GENESIS_HASH
        return AuditEvent.objects.create(
            **content, prev_hash=prev_hash, hash=event_hash(content, prev_hash)
        )
