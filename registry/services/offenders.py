"""Registering offenders and correcting their records.

``offender_input_validate`` is the one validation of a new record, shared by the API and the
bulk import (row by row): it accepts values already parsed by a serializer (dates, floats) or
raw strings, and raises one ``ValidationError`` whose keys name the field the way the API body
does (``cnic``, ``address.lat``, ``convictions[0].sections``). Messages never repeat the value.

Rules decided here:

- The CNIC is normalised and must not already be registered (blind index; a race with another
  registration is caught by the unique column and answered the same way).
- A new record is ``in_custody`` (the usual case: entered at conviction) or ``active`` (a
  registrant released before the register knew of it: ``released_on`` is then required and
  due dates start from today).
- A data-entry clerk registers offenders whose address is in the clerk's district.
- The address point, when given, decides station and beat and must lie in the named district.
- Status is never changed here: release and transitions have their own services.
- A further conviction (``conviction_add``) follows the same rules as a new record's
  convictions (``_conviction``, the one validator of a conviction); a court case already
  recorded for the offender is refused.
- The photo (``offender_photo_set``) is accepted and stripped of metadata by
  ``registry.photos`` and stored under a random name.
- A new record's rows are built by ``offender_build`` and ``offender_records_build`` for
  ``offender_create`` and the bulk import alike.

Validating many records at once (the bulk import) passes a ``ValidationContext`` from
``validation_context_load``: the lookups the rules need (registered CNICs, districts, tiers) are
then read once for the whole file instead of once per record. The rules themselves are the same
code either way; only where a lookup's answer comes from differs.
"""

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import Officer
from accounts.scoping import in_jurisdiction
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Forbidden, NotFound
from common.text import TextRefused, clean_text
from jurisdictions.models import Beat, District, PoliceStation
from registry import hooks
from registry.identifiers import (
    cnic_blind_index,
    normalise_cnic,
    normalise_phone,
    validate_sections,
)
from registry.models import (
    Address,
    Conviction,
    Gender,
    Offender,
    OffenderStatus,
    ReportingPolicy,
    StatusChange,
    SupervisionPeriod,
)
from registry.photos import PhotoRejected, photo_clean
from registry.selectors import offender_get, offender_queryset_for
from registry.services.addresses import address_change, address_point_resolve
from registry.services.dues import offender_dues_derive, offender_tier_changed

ALREADY_REGISTERED = "already registered"
CASE_LISTED_TWICE = "The same court case is listed twice."
CASE_ALREADY_RECORDED = "This court case is already recorded for the offender."
CREATABLE_STATUSES = (OffenderStatus.IN_CUSTODY, OffenderStatus.ACTIVE)


# Identity fields a PATCH may change, besides cnic, phone, risk_tier and address.
def _max_length(model: type[Model], name: str, default: int) -> int:
    """The column's limit (one source: the model), or ``default`` for unbounded text."""
    return getattr(model._meta.get_field(name), "max_length", None) or default


# Names: a visible letter required (common.text); the description may hold line breaks.
_NAME_FIELDS = frozenset({"full_name", "father_name", "full_name_ur", "father_name_ur"})
_MULTILINE_FIELDS = frozenset({"physical_description"})
_TEXT_FIELDS: dict[str, tuple[int, bool]] = {
    # name → (max length, from the model where it has one; required on create)
    "full_name": (_max_length(Offender, "full_name", 150), True),
    "father_name": (_max_length(Offender, "father_name", 150), True),
    "full_name_ur": (_max_length(Offender, "full_name_ur", 150), False),
    "father_name_ur": (_max_length(Offender, "father_name_ur", 150), False),
    "physical_description": (2000, False),
    "dna_profile_ref": (255, False),
    "biometric_ref": (255, False),
}
UPDATABLE_FIELDS = frozenset(
    {
        *_TEXT_FIELDS,
        "aliases",
        "gender",
        "date_of_birth",
        "phone",
        "cnic",
        "risk_tier",
        "address",
        "sms_language",
    }
)
# The offender's SMS language; "" follows the deployment's NIGRANI_SMS_LANGUAGE.
SMS_LANGUAGES = ("", "ur", "en")


@dataclass
class AddressInput:
    text: str
    district: District
    lon: float | None
    lat: float | None
    station: PoliceStation | None = None
    beat: Beat | None = None


@dataclass
class OffenderInput:
    """A validated new record, ready to write."""

    cnic: str
    cnic_index: str
    identity: dict[str, Any]
    risk_tier: int
    status: str
    address: AddressInput
    convictions: list[dict[str, Any]] = field(default_factory=list)
    released_on: date | None = None
    release_prison: str = ""


@dataclass(frozen=True)
class ValidationContext:
    """The lookups of ``offender_input_validate``, read once for many records (the import).

    A snapshot: a CNIC registered after it was loaded is caught by the unique column when the
    record is written, as with any registration race. A CNIC it was not loaded for is looked up
    in the database, so an incomplete context gives slower answers, never wrong ones."""

    cnic_indexes_checked: frozenset[str]
    cnic_indexes_registered: frozenset[str]
    districts_by_code: dict[str, District]
    policies_by_tier: dict[int, ReportingPolicy]  # in the table's order (by tier)


_CNIC_INDEX_CHUNK = 5000  # blind indexes per ``IN`` query when loading a context


def validation_context_load(*, cnic_indexes: Iterable[str]) -> ValidationContext:
    """The context for validating the records whose CNICs have these blind indexes: which of
    them are registered, every district (boundaries deferred: validation needs the code and
    key only) and every reporting policy. A constant number of queries for up to
    ``_CNIC_INDEX_CHUNK`` CNICs, one more per further chunk."""
    checked = frozenset(cnic_indexes)
    ordered = sorted(checked)
    registered: set[str] = set()
    for start in range(0, len(ordered), _CNIC_INDEX_CHUNK):
        chunk = ordered[start : start + _CNIC_INDEX_CHUNK]
        registered.update(
            Offender.objects.filter(cnic_index__in=chunk)
            .order_by()
            .values_list("cnic_index", flat=True)
        )
    return ValidationContext(
        cnic_indexes_checked=checked,
        cnic_indexes_registered=frozenset(registered),
        districts_by_code={d.code: d for d in District.objects.defer("boundary")},
        policies_by_tier={p.risk_tier: p for p in ReportingPolicy.objects.all()},
    )


# --- lookups: from the context when given, else from the database -------------------------


def _cnic_registered(
    index: str, *, exclude_pk: int | None = None, context: ValidationContext | None = None
) -> bool:
    if context is not None and exclude_pk is None and index in context.cnic_indexes_checked:
        return index in context.cnic_indexes_registered
    offenders = Offender.objects.filter(cnic_index=index)
    if exclude_pk is not None:
        offenders = offenders.exclude(pk=exclude_pk)
    return offenders.exists()


def _district_by_code(code: str, context: ValidationContext | None) -> District | None:
    if context is not None:
        return context.districts_by_code.get(code)
    return District.objects.filter(code=code).first()


def _configured_tiers(context: ValidationContext | None) -> list[int]:
    if context is not None:
        return list(context.policies_by_tier)
    return list(ReportingPolicy.objects.values_list("risk_tier", flat=True))


# --- field parsers: each returns the clean value or records errors under ``key`` -------------


class _Errors(dict[str, list[str]]):
    def add(self, key: str, message: str | list[str]) -> None:
        self.setdefault(key, []).extend([message] if isinstance(message, str) else message)


def _text(
    data: dict,
    name: str,
    key: str,
    errors: _Errors,
    *,
    max_length: int,
    required: bool,
    is_name: bool = False,
    multiline: bool = False,
) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(key, "A string is expected.")
        return ""
    try:
        value = clean_text(value, name=is_name, multiline=multiline)
    except TextRefused as exc:
        errors.add(key, str(exc))
        return ""
    if required and not value:
        errors.add(key, "This field is required.")
    elif len(value) > max_length:
        errors.add(key, f"At most {max_length} characters.")
    return value


def _date(
    data: dict, name: str, key: str, errors: _Errors, *, required: bool, not_future: bool = True
) -> date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            errors.add(key, "This field is required.")
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors.add(key, "A date is expected, as YYYY-MM-DD.")
            return None
    if not isinstance(value, date):
        errors.add(key, "A date is expected, as YYYY-MM-DD.")
        return None
    if not_future and value > timezone.localdate():
        errors.add(key, "The date cannot be in the future.")
    return value


def _float(data: dict, name: str, key: str, errors: _Errors) -> float | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(key, "A number is expected.")
        return None
    if isinstance(value, bool) or not math.isfinite(number):
        errors.add(key, "A number is expected.")
        return None
    return number


def _cnic(
    data: dict,
    errors: _Errors,
    *,
    exclude_pk: int | None = None,
    context: ValidationContext | None = None,
) -> tuple[str, str]:
    raw = data.get("cnic")
    if raw in (None, ""):
        errors.add("cnic", "This field is required.")
        return "", ""
    try:
        cnic = normalise_cnic(str(raw))
    except ValidationError as exc:
        errors.add("cnic", exc.messages)
        return "", ""
    index = cnic_blind_index(cnic)
    if _cnic_registered(index, exclude_pk=exclude_pk, context=context):
        errors.add("cnic", ALREADY_REGISTERED)
    return cnic, index


def _phone(data: dict, errors: _Errors) -> str:
    raw = data.get("phone")
    if raw in (None, ""):
        return ""
    try:
        return normalise_phone(str(raw))
    except ValidationError as exc:
        errors.add("phone", exc.messages)
        return ""


def _gender(data: dict, errors: _Errors) -> str:
    value = data.get("gender")
    if value in (None, ""):
        errors.add("gender", "This field is required.")
        return ""
    if value not in Gender.values:
        errors.add("gender", f"One of {', '.join(Gender.values)}.")
    return str(value)


def _aliases(data: dict, errors: _Errors) -> list[str]:
    value = data.get("aliases") or []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        errors.add("aliases", "A list of names is expected.")
        return []
    aliases: list[str] = []
    for raw in value:
        try:
            alias = clean_text(raw, name=bool(raw.strip()))
        except TextRefused as exc:
            errors.add("aliases", str(exc))
            continue
        if len(alias) > 150:
            errors.add("aliases", "Each alias is at most 150 characters.")
        elif alias and alias not in aliases:
            aliases.append(alias)
    return aliases


def _risk_tier(data: dict, errors: _Errors, context: ValidationContext | None = None) -> int:
    value = data.get("risk_tier")
    if value in (None, ""):
        errors.add("risk_tier", "This field is required.")
        return 0
    try:
        tier = int(value)
    except (TypeError, ValueError):
        errors.add("risk_tier", "A whole number is expected.")
        return 0
    tiers = _configured_tiers(context)
    if isinstance(value, bool) or tier not in tiers:
        errors.add("risk_tier", f"One of the configured tiers: {', '.join(map(str, tiers))}.")
    return tier


def _address(
    value: Any,
    errors: _Errors,
    *,
    prefix: str = "address",
    context: ValidationContext | None = None,
) -> AddressInput | None:
    if not isinstance(value, dict):
        errors.add(prefix, "An object with text, district, lat and lon is expected.")
        return None
    before = len(errors)
    text = _text(value, "text", f"{prefix}.text", errors, max_length=500, required=True)
    code = value.get("district")
    district = _district_by_code(str(code), context) if code else None
    if district is None:
        errors.add(f"{prefix}.district", "A known district code is required.")
    lat = _float(value, "lat", f"{prefix}.lat", errors)
    lon = _float(value, "lon", f"{prefix}.lon", errors)
    if lat is not None and not -90 <= lat <= 90:
        errors.add(f"{prefix}.lat", "Latitude must be between -90 and 90.")
    if lon is not None and not -180 <= lon <= 180:
        errors.add(f"{prefix}.lon", "Longitude must be between -180 and 180.")
    if len(errors) != before or district is None:
        return None
    try:
        station, beat = address_point_resolve(
            district=district, lon=lon, lat=lat, field_prefix=prefix
        )
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.add(key, messages)
        return None
    return AddressInput(text=text, district=district, lon=lon, lat=lat, station=station, beat=beat)


def _conviction(value: Any, errors: _Errors, prefix: str = "") -> dict[str, Any] | None:
    """One conviction, its keys under ``prefix`` (``convictions[0].sections``) or bare
    (``sections``, a conviction added on its own)."""

    def key(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    if not isinstance(value, dict):
        errors.add(prefix or NON_FIELD_ERRORS, "An object is expected.")
        return None
    before = len(errors)
    clean: dict[str, Any] = {}
    for name, max_length in (
        ("fir_number", 32),
        ("police_station", 150),
        ("court", 200),
        ("case_number", 64),
        ("sentence", 255),
    ):
        clean[name] = _text(value, name, key(name), errors, max_length=max_length, required=True)
    clean["conviction_date"] = _date(
        value, "conviction_date", key("conviction_date"), errors, required=True
    )
    try:
        clean["sections"] = validate_sections(value.get("sections"))
    except ValidationError as exc:
        errors.add(key("sections"), exc.messages)
    victim_minor = value.get("victim_minor")
    if not isinstance(victim_minor, bool):
        errors.add(key("victim_minor"), "true or false is required.")
    clean["victim_minor"] = victim_minor
    return clean if len(errors) == before else None


def _convictions(value: Any, errors: _Errors) -> list[dict[str, Any]]:
    if value is None:
        value = []
    if not isinstance(value, list | tuple):
        errors.add("convictions", "A list of convictions is expected.")
        return []
    if not value:
        errors.add("convictions", "At least one conviction puts an offender on the register.")
        return []
    convictions: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for position, item in enumerate(value):
        prefix = f"convictions[{position}]"
        clean = _conviction(item, errors, prefix)
        if clean is None:
            continue
        case = (clean["court"], clean["case_number"])
        if case in seen:
            errors.add(f"{prefix}.case_number", CASE_LISTED_TWICE)
        seen.add(case)
        convictions.append(clean)
    return convictions


# --- create --------------------------------------------------------------------------------


def offender_input_validate(
    *, data: dict[str, Any], context: ValidationContext | None = None
) -> OffenderInput:
    """Validate a new record (module docstring); raises ``ValidationError`` with field keys.

    With a ``context`` (``validation_context_load``) the lookups come from it; only the
    address point is still resolved per record (one query, geometries cached in-process)."""
    errors = _Errors()
    cnic, cnic_index = _cnic(data, errors, context=context)
    identity: dict[str, Any] = {
        name: _text(
            data,
            name,
            name,
            errors,
            max_length=max_length,
            required=required,
            is_name=name in _NAME_FIELDS,
            multiline=name in _MULTILINE_FIELDS,
        )
        for name, (max_length, required) in _TEXT_FIELDS.items()
    }
    identity["gender"] = _gender(data, errors)
    identity["date_of_birth"] = _date(
        data, "date_of_birth", "date_of_birth", errors, required=False
    )
    identity["aliases"] = _aliases(data, errors)
    identity["phone"] = _phone(data, errors)
    risk_tier = _risk_tier(data, errors, context)
    status = data.get("status") or OffenderStatus.IN_CUSTODY
    if status not in CREATABLE_STATUSES:
        errors.add(
            "status",
            "A new record is in_custody or active; other states are reached by transition.",
        )
    released_on = _date(
        data, "released_on", "released_on", errors, required=status == OffenderStatus.ACTIVE
    )
    release_prison = _text(
        data, "release_prison", "release_prison", errors, max_length=150, required=False
    )
    if status == OffenderStatus.IN_CUSTODY and (released_on or release_prison):
        errors.add("released_on", "An offender in custody has no release; record it on release.")
    address = _address(data.get("address"), errors, context=context) if "address" in data else None
    if "address" not in data:
        errors.add("address", "This field is required.")
    convictions = _convictions(data.get("convictions"), errors)
    if errors or address is None:
        raise ValidationError(dict(errors))
    return OffenderInput(
        cnic=cnic,
        cnic_index=cnic_index,
        identity=identity,
        risk_tier=risk_tier,
        status=status,
        address=address,
        convictions=convictions,
        released_on=released_on,
        release_prison=release_prison,
    )


def _require_district(actor: Officer, district: District) -> None:
    if not in_jurisdiction(actor, district_id=district.pk):
        raise ValidationError(
            {"address.district": ["You may register offenders of your own district only."]}
        )


def offender_build(
    *,
    entry: OffenderInput,
    actor: Officer,
    now: datetime,
    policy: ReportingPolicy | None = None,
) -> Offender:
    """The unsaved record of a validated entry, as every registration writes it
    (``offender_create`` one by one, the bulk import by ``COPY``): supervision from the
    address, status as of ``now``, the dues its status and tier give. ``policy`` is the tier's
    reporting policy when the caller already holds it (else it is read when needed)."""
    dues = offender_dues_derive(
        status=entry.status,
        risk_tier=entry.risk_tier,
        released_on=entry.released_on,
        registration_ends_on=None,
        since=timezone.localdate(now),
        policy=policy,
    )
    return Offender(
        **entry.identity,
        cnic=entry.cnic,
        cnic_index=entry.cnic_index,
        risk_tier=entry.risk_tier,
        status=entry.status,
        status_changed_at=now,
        district=entry.address.district,
        station=entry.address.station,
        beat=entry.address.beat,
        released_on=entry.released_on,
        release_prison=entry.release_prison,
        registration_ends_on=dues.registration_ends_on,
        next_checkin_due=dues.next_checkin_due,
        next_verification_due=dues.next_verification_due,
        created_by=actor,
    )


@dataclass
class OffenderRecords:
    """The rows a registration writes beside the record itself, unsaved."""

    address: Address
    supervision: SupervisionPeriod
    convictions: list[Conviction]
    status_change: StatusChange


def offender_records_build(
    *, offender: Offender, entry: OffenderInput, actor: Officer, now: datetime, note: str = ""
) -> OffenderRecords:
    """The first address, the first supervision period (the record's district and station),
    the convictions and the opening status change of a record just given its primary key."""
    address = entry.address
    return OffenderRecords(
        address=Address(
            offender=offender,
            text=address.text,
            district=address.district,
            lon=address.lon,
            lat=address.lat,
            station=address.station,
            beat=address.beat,
            valid_from=now,
        ),
        supervision=SupervisionPeriod(
            offender=offender,
            district_id=offender.district_id,
            station_id=offender.station_id,
            started_at=now,
        ),
        convictions=[
            Conviction(offender=offender, **conviction) for conviction in entry.convictions
        ],
        status_change=StatusChange(
            offender=offender,
            from_status="",
            to_status=entry.status,
            reason="registered",
            note=note,
            actor=actor,
            changed_at=now,
        ),
    )


def offender_create(*, actor: Officer, data: dict[str, Any] | OffenderInput) -> Offender:
    """Register an offender with the current address and convictions, in one transaction:
    the record, its first address and supervision period, its convictions, the opening
    ``StatusChange`` and one ``create`` audit event. A record created ``active`` calls
    ``offender_released`` like a release would, so reporting starts."""
    if not actor.has_permission("offender.create"):
        raise Forbidden("You may not register offenders.")
    entry = data if isinstance(data, OffenderInput) else offender_input_validate(data=data)
    _require_district(actor, entry.address.district)
    now = timezone.now()
    with transaction.atomic():
        offender = offender_build(entry=entry, actor=actor, now=now)
        try:
            with transaction.atomic():
                offender.save()
        except IntegrityError as exc:
            if "cnic_index" in str(exc):
                raise ValidationError({"cnic": [ALREADY_REGISTERED]}) from None
            raise
        records = offender_records_build(offender=offender, entry=entry, actor=actor, now=now)
        records.address.save()
        records.supervision.save()
        Conviction.objects.bulk_create(records.convictions)
        records.status_change.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="offender",
            object_id=offender.pk,
            details={
                "status": offender.status,
                "risk_tier": offender.risk_tier,
                "district_id": offender.district_id,
                "station_id": offender.station_id,
                "convictions": len(entry.convictions),
            },
        )
        if offender.status == OffenderStatus.ACTIVE:
            hooks.call("offender_released", offender=offender, actor=actor)
    return offender


# --- update --------------------------------------------------------------------------------


def offender_update(*, actor: Officer, offender_id: int, data: dict[str, Any]) -> Offender:
    """Correct the record: identity, CNIC, phone, risk tier (due dates follow) and the address
    (through ``address_change``: supervision follows). Only the keys given change. Status is
    not changed here (release and transition). Audited with the names of the fields changed,
    never their values."""
    if not actor.has_permission("offender.update"):
        raise Forbidden("You may not change offender records.")
    errors = _Errors()
    for key in sorted(set(data) - UPDATABLE_FIELDS):
        if key in ("status", "removal_reason", "released_on", "release_prison"):
            errors.add(key, "Changed through the release and transition endpoints.")
        else:
            errors.add(key, "Not a field that can be changed.")
    with transaction.atomic():
        offender = offender_get(actor=actor, offender_id=offender_id)
        offender = Offender.objects.select_for_update(of=("self",)).get(pk=offender.pk)
        changes: dict[str, Any] = {}
        for name, (max_length, required) in _TEXT_FIELDS.items():
            if name in data:
                changes[name] = _text(
                    data,
                    name,
                    name,
                    errors,
                    max_length=max_length,
                    required=required,
                    is_name=name in _NAME_FIELDS,
                    multiline=name in _MULTILINE_FIELDS,
                )
        if "gender" in data:
            changes["gender"] = _gender(data, errors)
        if "date_of_birth" in data:
            changes["date_of_birth"] = _date(
                data, "date_of_birth", "date_of_birth", errors, required=False
            )
        if "aliases" in data:
            changes["aliases"] = _aliases(data, errors)
        if "phone" in data:
            changes["phone"] = _phone(data, errors)
        if "cnic" in data:
            changes["cnic"], changes["cnic_index"] = _cnic(data, errors, exclude_pk=offender.pk)
        if "risk_tier" in data:
            changes["risk_tier"] = _risk_tier(data, errors)
        if "sms_language" in data:
            if data["sms_language"] not in SMS_LANGUAGES:
                errors.add("sms_language", "One of ur, en, or empty for the deployment's.")
            changes["sms_language"] = data["sms_language"]
        address = _address(data["address"], errors) if "address" in data else None
        if address is not None:
            _require_district(actor, address.district)
        if errors:
            raise ValidationError(dict(errors))
        changed = sorted(
            name for name, value in changes.items() if getattr(offender, name) != value
        )
        for name in changed:
            setattr(offender, name, changes[name])
        if "risk_tier" in changed:
            changed += offender_tier_changed(offender=offender)
        if changed:
            try:
                with transaction.atomic():
                    offender.save(update_fields=[*changed, "updated_at"])
            except IntegrityError as exc:
                if "cnic_index" in str(exc):
                    raise ValidationError({"cnic": [ALREADY_REGISTERED]}) from None
                raise
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="offender",
                object_id=offender.pk,
                details={"fields": [name for name in changed if name != "cnic_index"]},
            )
        if address is not None:
            address_change(
                actor=actor,
                offender=offender,
                text=address.text,
                district=address.district,
                lon=address.lon,
                lat=address.lat,
            )
    return offender


# Fields registry staff may edit in the admin: descriptive only (``registry.admin``).
DESCRIPTIVE_FIELDS = frozenset(
    {"full_name_ur", "father_name_ur", "aliases", "physical_description"}
)


def offender_descriptive_update(
    *, actor: Officer, offender: Offender, fields: Sequence[str], via: str = "admin"
) -> Offender:
    """Save the descriptive ``fields`` (``DESCRIPTIVE_FIELDS``) of ``offender`` as the caller's
    form validated them, and audit their names (never their values). Only those columns are
    written, so the encrypted ones are never rewritten as a side effect."""
    if not (actor.is_superuser or actor.has_permission("offender.update")):
        raise Forbidden("You may not change offender records.")
    fields = sorted(fields)
    if set(fields) - DESCRIPTIVE_FIELDS:
        raise ValueError(f"not descriptive: {', '.join(sorted(set(fields) - DESCRIPTIVE_FIELDS))}")
    with transaction.atomic():
        if fields:
            offender.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="offender",
            object_id=offender.pk,
            details={"via": via, "fields": fields},
        )
    return offender


# --- convictions ---------------------------------------------------------------------------


def conviction_input_validate(*, data: dict[str, Any]) -> dict[str, Any]:
    """One conviction, by the rules a new record's convictions follow; raises
    ``ValidationError`` with bare field keys (``sections``)."""
    errors = _Errors()
    clean = _conviction(data, errors)
    if errors or clean is None:
        raise ValidationError(dict(errors))
    return clean


def conviction_add(*, actor: Officer, offender_id: int, data: dict[str, Any]) -> Conviction:
    """Record a further conviction of an offender in the actor's scope (404 otherwise).

    A court case already recorded for the offender is a 400 on ``case_number``, also when two
    officers add it at once (the unique constraint decides). The status does not change here:
    what a new conviction means for it (custody, a removal undone) is the lifecycle's business.
    Audited as a ``create`` of the conviction, naming the offender, never the case."""
    if not actor.has_permission("offender.update"):
        raise Forbidden("You may not change offender records.")
    clean = conviction_input_validate(data=data)
    with transaction.atomic():
        offender = offender_get(actor=actor, offender_id=offender_id)
        if offender.convictions.filter(
            court=clean["court"], case_number=clean["case_number"]
        ).exists():
            raise ValidationError({"case_number": [CASE_ALREADY_RECORDED]})
        conviction = Conviction(offender=offender, **clean)
        try:
            with transaction.atomic():
                conviction.save()
        except IntegrityError as exc:
            if "conviction_unique_case" in str(exc):
                raise ValidationError({"case_number": [CASE_ALREADY_RECORDED]}) from None
            raise
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="conviction",
            object_id=conviction.pk,
            details={"offender_id": offender.pk},
        )
    return conviction


# --- photo ---------------------------------------------------------------------------------


def _size_text(size_bytes: int) -> str:
    megabytes = size_bytes / (1024 * 1024)
    return f"{megabytes:g} MB" if megabytes >= 1 else f"{size_bytes} bytes"


def offender_photo_set(*, actor: Officer, offender_id: int, photo: File) -> Offender:
    """Replace the photo of an offender in the actor's scope (404 otherwise).

    Accepted and cleaned by ``registry.photos`` (JPEG or PNG by content, metadata such as the
    GPS position dropped) and at most ``NIGRANI_PHOTO_MAX_BYTES``; anything else is a 400 on
    ``photo``. Stored under a random name, so the storage never holds a name or CNIC; the
    previous file is deleted once the change has committed (before that, a rollback would
    leave the record pointing at a deleted file), and the new one if the change fails.
    Audited as an update of the ``photo`` field."""
    if not actor.has_permission("offender.update"):
        raise Forbidden("You may not change offender records.")
    if not offender_queryset_for(actor=actor).filter(pk=offender_id).exists():
        raise NotFound()  # before reading the upload
    max_bytes = settings.NIGRANI_PHOTO_MAX_BYTES
    too_large = ValidationError({"photo": [f"At most {_size_text(max_bytes)}."]})
    if photo.size is not None and photo.size > max_bytes:
        raise too_large
    photo.seek(0)
    data = photo.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large
    try:
        clean = photo_clean(data)
    except PhotoRejected as exc:
        raise ValidationError({"photo": [str(exc)]}) from None
    storage = Offender._meta.get_field("photo").storage
    stored_name = ""
    try:
        with transaction.atomic():
            offender = (
                offender_queryset_for(actor=actor)
                .select_for_update(of=("self",))
                .filter(pk=offender_id)
                .first()
            )
            if offender is None:  # left the actor's scope meanwhile
                raise NotFound()
            previous_name = offender.photo.name
            offender.photo.save(
                f"{uuid.uuid4().hex}.{clean.extension}", ContentFile(clean.content), save=False
            )
            stored_name = offender.photo.name
            offender.save(update_fields=["photo", "updated_at"])
            if previous_name:
                transaction.on_commit(lambda: storage.delete(previous_name), robust=True)
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="offender",
                object_id=offender.pk,
                details={"fields": ["photo"], "width": clean.width, "height": clean.height},
            )
    except BaseException:
        if stored_name:
            storage.delete(stored_name)
        raise
    return offender
