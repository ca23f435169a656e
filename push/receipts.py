"""The offender's receipts: one per recorded notice or check-in, sent through the SMS outbox.

The apps that record things (the register's notices through its ``notice_filed`` hook, the
check-in counter directly) call ``receipt_issue`` in their own transaction, so a rollback leaves
neither the receipt nor its SMS. The text is composed here (``push.receipt_text``) from what the
caller passes: push never imports the register. A receipt without a phone is still written, for
the printable page.
"""

import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Officer
from accounts.scoping import jurisdiction_q
from common.exceptions import NotFound
from jurisdictions.models import PoliceStation
from push.models import Receipt
from push.receipt_text import LANGUAGES, WHAT, PrintedReceipt, receipt_printed, receipt_sms_text
from push.services import sms_enqueue

# Crockford's base32 without I, L, O, U: read aloud at a counter without confusion.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ATTEMPTS = 5


def receipt_reference_new() -> str:
    """``XXXX-XXXX``: 40 random bits, unguessable enough that a reference is not an id."""
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def receipt_reference_normalise(reference: str) -> str:
    """What an officer types → the stored form (case, spaces and a missing dash forgiven)."""
    raw = "".join(ch for ch in reference.upper() if ch.isalnum())
    raw = raw.replace("O", "0").replace("I", "1").replace("L", "1")
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == 8 else ""


def _station_label(station: PoliceStation | None) -> str:
    return station.name if station is not None else "the police station"


def receipt_issue(
    *,
    kind: str,
    offender_id: int,
    object_type: str,
    object_id: int | str,
    recorded_at: datetime,
    station: PoliceStation | None,
    recorded_station: PoliceStation | None,
    phone: str,
    language: str,
) -> Receipt:
    """Write the receipt and, when the offender has a phone, queue its SMS (same transaction).

    One receipt per recorded object (a unique constraint): issuing again returns the first."""
    if kind not in WHAT:
        raise ValidationError({"kind": [f"Unknown receipt kind {kind!r}."]})
    if language not in LANGUAGES:
        raise ValidationError({"language": [f"Unknown language {language!r}."]})
    existing = Receipt.objects.filter(object_type=object_type, object_id=str(object_id)).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        for attempt in range(_ATTEMPTS):
            try:
                with transaction.atomic():
                    receipt = Receipt.objects.create(
                        reference=receipt_reference_new(),
                        kind=kind,
                        offender_id=offender_id,
                        object_type=object_type,
                        object_id=str(object_id),
                        recorded_at=recorded_at,
                        station=station,
                        recorded_station=recorded_station,
                        language=language,
                    )
                break
            except IntegrityError:
                if Receipt.objects.filter(
                    object_type=object_type, object_id=str(object_id)
                ).exists():
                    return Receipt.objects.get(object_type=object_type, object_id=str(object_id))
                if attempt == _ATTEMPTS - 1:  # 40 bits: five collisions in a row is a bug
                    raise
        if phone:
            receipt.sms = sms_enqueue(
                to=phone,
                text=receipt_sms_text(
                    reference=receipt.reference,
                    kind=kind,
                    recorded_at_local=timezone.localtime(recorded_at),
                    station=_station_label(recorded_station or station),
                    language=language,
                ),
                purpose="receipt",
                offender_id=offender_id,
            )
            receipt.save(update_fields=["sms", "updated_at"])
    return receipt


def receipt_queryset_for(*, actor: Officer) -> QuerySet[Receipt]:
    """Receipts of the offenders the actor's station supervised when they were issued (national
    roles: all)."""
    return Receipt.objects.filter(
        jurisdiction_q(actor, station="station_id", permission="receipt.read")
    ).select_related("station", "recorded_station", "sms")


def receipt_get(*, actor: Officer, reference: str) -> Receipt:
    """The receipt with this reference if the actor may see it, else 404 (as if absent)."""
    normalised = receipt_reference_normalise(reference)
    receipt = receipt_queryset_for(actor=actor).filter(reference=normalised).first()
    if not normalised or receipt is None:
        raise NotFound()
    return receipt


def receipt_print_texts(receipt: Receipt) -> PrintedReceipt:
    """Both language versions of the receipt, for the printable A5 page."""
    return receipt_printed(
        reference=receipt.reference,
        kind=receipt.kind,
        recorded_at_local=timezone.localtime(receipt.recorded_at),
        station=_station_label(receipt.recorded_station or receipt.station),
    )
