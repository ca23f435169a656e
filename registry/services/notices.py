"""Notices of change: the offender's duty to report, filed at a station on the offender's behalf.

Rules decided here (see also the API docs):

- **Deadlines** come from ``NoticeDeadline`` rows (data, not constants). A change must be notified
  within ``days_after_change`` days of ``changed_on``; travel at least ``days_before_departure``
  days before ``departure_date``. Days are Pakistan days (the settings' time zone): a notice
  filed on the deadline day is on time, one filed the day after is late.
- A **late** notice is still accepted (refusing it would lose the information), marked
  ``is_late``, and reported through the ``notice_late`` hook, which compliance turns into one
  ``late_notice`` violation.
- **Change notices** (name, phone, address, employment) declare something that has already
  happened, so they take effect when filed: the name (old one kept as an alias) and phone are
  updated on the record, an address change goes through ``address_change``. Their lifecycle is
  ``filed → acknowledged`` (the supervising station has reviewed it); they cannot be cancelled
  (a wrongly recorded change is corrected on the record itself, audited) or closed.
- **Travel notices** declare a plan: ``filed → acknowledged → closed`` (on return, with
  ``returned_on``; calls the ``travel_returned`` hook), or ``filed/acknowledged → cancelled``
  with a reason when the trip is called off.
- **Who files**: a registry admin for anyone; a station officer for the offenders its station
  supervises, and — at the counter — for any *active* registrant who presents the CNIC (sent as
  ``cnic`` and checked against the record): the notice is routed to the supervising station,
  and the counter station does not see it afterwards. Without the matching CNIC an offender
  of another station is simply not found (404), so ids cannot be probed; a malformed CNIC is
  refused (400) before any lookup, whatever the id.
- **A counter filing is confirmed by the offender**: a CNIC is not proof of presence (the
  counter lookup answers nationally), so a notice filed at a station that does not supervise
  the offender is ``unconfirmed`` and changes nothing until the offender confirms it with the
  one-time code sent to the registered phone (the ``notice_confirmation_requested`` hook;
  checkins sends and checks the code as at a check-in, then calls ``notice_confirm``). Without a
  registered phone it is refused (409 ``no_registered_phone``): the supervising station files
  it. A confirmed change that moves supervision to another station or district is audited as
  a ``transfer``, and the caller notifies the station and district that supervised before.
- Protected new values (name, phone, address, employer) live only in the encrypted ``details``;
  audit events and logs name the kind and ids, never the values.
"""

import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role, Scope
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden, NotFound
from common.text import TextRefused, clean_text
from jurisdictions.models import District
from registry import hooks
from registry.identifiers import normalise_cnic, normalise_phone
from registry.models import (
    TRAVEL_KINDS,
    Notice,
    NoticeDeadline,
    NoticeKind,
    NoticeStatus,
    Offender,
    OffenderStatus,
)
from registry.selectors_notices import notice_get
from registry.services.addresses import address_change

CHANGE_KINDS = frozenset(
    {
        NoticeKind.NAME_CHANGE,
        NoticeKind.ADDRESS_CHANGE,
        NoticeKind.PHONE_CHANGE,
        NoticeKind.EMPLOYMENT_CHANGE,
    }
)
# The duty to report binds released registrants; an absconder who walks in is recorded too.
_MAY_FILE_FOR = frozenset({OffenderStatus.ACTIVE, OffenderStatus.ABSCONDED})

# Which ``details`` keys each change kind takes, and which of them are required.
_DETAIL_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    NoticeKind.NAME_CHANGE: (
        frozenset({"full_name", "full_name_ur", "father_name"}),
        frozenset({"full_name"}),
    ),
    NoticeKind.PHONE_CHANGE: (frozenset({"phone"}), frozenset({"phone"})),
    NoticeKind.ADDRESS_CHANGE: (frozenset({"address"}), frozenset({"address"})),
    NoticeKind.EMPLOYMENT_CHANGE: (
        frozenset({"employer", "occupation", "work_address"}),
        frozenset({"employer"}),
    ),
}
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# New names in a name change: a visible letter required (common.text).
_NAME_KEYS = frozenset({"full_name", "full_name_ur", "father_name"})
_CLOSABLE = frozenset({NoticeStatus.ACKNOWLEDGED})


# --- deadlines -----------------------------------------------------------------------------


def notice_deadline_compute(
    *,
    kind: str,
    rule: NoticeDeadline,
    changed_on: date | None = None,
    departure_date: date | None = None,
) -> date:
    """The last day on which a notice of ``kind`` is on time.

    A date so near the ends of the calendar that the deadline overflows is a field error (the
    API already limits dates to years 1900..2200; this guards every other caller)."""
    if kind in TRAVEL_KINDS:
        if rule.days_before_departure is None or departure_date is None:
            raise ImproperlyConfigured(f"notice deadline for {kind} needs days_before_departure")
        try:
            return departure_date - timedelta(days=rule.days_before_departure)
        except OverflowError as exc:
            raise ValidationError({"departure_date": ["Date out of range."]}) from exc
    if rule.days_after_change is None or changed_on is None:
        raise ImproperlyConfigured(f"notice deadline for {kind} needs days_after_change")
    try:
        return changed_on + timedelta(days=rule.days_after_change)
    except OverflowError as exc:
        raise ValidationError({"changed_on": ["Date out of range."]}) from exc


def notice_deadline_save(
    *, actor: Officer, deadline: NoticeDeadline, fields: Sequence[str], created: bool
) -> NoticeDeadline:
    """Save a notice deadline validated by the caller's form (the admin) and audit the names
    of the changed ``fields``. Deadlines of notices already filed do not move: each notice
    keeps the deadline computed when it was filed."""
    if not (actor.is_superuser or actor.has_permission("offender.update")):
        raise Forbidden("You may not change notice deadlines.")
    fields = sorted(fields)
    with transaction.atomic():
        if created:
            deadline.save()
        elif fields:
            deadline.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            object_type="notice_deadline",
            object_id=deadline.pk,
            details={"via": "admin", "fields": fields},
        )
    return deadline


def _deadline_rule(kind: str) -> NoticeDeadline:
    rule = NoticeDeadline.objects.filter(kind=kind).first()
    if rule is None:
        # The data migration installs one row per kind; a missing row is a deployment fault.
        raise ImproperlyConfigured(f"no NoticeDeadline row for {kind}")
    return rule


# --- who may act ---------------------------------------------------------------------------


def _supervises(actor: Officer, offender: Offender) -> bool:
    """National roles act on every offender; a station officer on those its station supervises."""
    if actor.scope == Scope.NATIONAL:
        return True
    if actor.scope == Scope.STATION:
        return offender.station_id is not None and offender.station_id == actor.station_id
    return False


def _cnic_normalised(cnic: str) -> str:
    """The presented CNIC in canonical form, or "" if none; a malformed one is a field error.

    Checked before the offender is looked up, so the answer to a malformed CNIC is the same
    400 whether or not the id exists: the order of the checks reveals nothing.
    """
    if not cnic:
        return ""
    try:
        return normalise_cnic(cnic)
    except ValidationError as exc:
        raise ValidationError({"cnic": exc.messages}) from exc


def _cnic_matches(offender: Offender, normalised: str) -> bool:
    return hmac.compare_digest(offender.cnic.encode(), normalised.encode())


def _offender_for_filing(*, actor: Officer, offender_id: int, cnic: str) -> tuple[Offender, bool]:
    """The offender, locked for the change, and whether the filing is a counter filing."""
    cnic = _cnic_normalised(cnic)
    offender = (
        Offender.objects.select_for_update(of=("self",))
        .select_related("station", "district")
        .filter(pk=offender_id)
        .first()
    )
    if offender is None:
        raise NotFound()
    if _supervises(actor, offender):
        if offender.status not in _MAY_FILE_FOR:
            raise Conflict(
                f"An offender who is {offender.status} is not under the duty to report.",
                code="offender_not_reporting",
            )
        return offender, False
    counter_filing = (
        actor.role == Role.STATION_OFFICER
        and bool(cnic)
        and offender.status == OffenderStatus.ACTIVE
        and _cnic_matches(offender, cnic)
    )
    if not counter_filing:
        raise NotFound()
    return offender, True


# --- filing --------------------------------------------------------------------------------


def notice_file(
    *,
    actor: Officer,
    offender_id: int,
    kind: str,
    changed_on: date | None = None,
    details: dict[str, Any] | None = None,
    destination_district: str = "",
    destination_country: str = "",
    destination_city: str = "",
    departure_date: date | None = None,
    return_date: date | None = None,
    purpose: str = "",
    cnic: str = "",
) -> Notice:
    """File a notice of change for the offender and apply what it declares (module docstring).

    ``details`` holds the new values of a change notice (``full_name``/``full_name_ur``/
    ``father_name``; ``phone``; ``address`` as ``{text, district, lat, lon}``; ``employer``/
    ``occupation``/``work_address``). ``cnic`` is only needed at another station's counter.
    """
    if not actor.has_permission("notice.file"):
        raise Forbidden("You may not file notices of change.")
    if kind not in NoticeKind.values:
        raise ValidationError({"kind": ["Unknown notice kind."]})
    with transaction.atomic():
        offender, via_counter = _offender_for_filing(
            actor=actor, offender_id=offender_id, cnic=cnic.strip()
        )
        today = timezone.localdate()
        if kind in TRAVEL_KINDS:
            fields = _travel_fields(
                kind=kind,
                changed_on=changed_on,
                details=details,
                destination_district=destination_district,
                destination_country=destination_country,
                destination_city=destination_city,
                departure_date=departure_date,
                return_date=return_date,
                purpose=purpose,
            )
            new_values: dict[str, Any] = {}
        else:
            fields, new_values = _change_fields(
                kind=kind,
                today=today,
                changed_on=changed_on,
                details=details,
                travel_given=any(
                    (
                        destination_district,
                        destination_country,
                        destination_city,
                        departure_date,
                        return_date,
                        purpose,
                    )
                ),
            )
        deadline = notice_deadline_compute(
            kind=kind,
            rule=_deadline_rule(kind),
            changed_on=fields.get("changed_on"),
            departure_date=fields.get("departure_date"),
        )
        if via_counter and not offender.phone:
            raise Conflict(
                "This offender has no phone on the register to confirm the notice with a code: "
                "the supervising station files it.",
                code="no_registered_phone",
            )
        filed_at = timezone.now()
        notice = Notice.objects.create(
            offender=offender,
            kind=kind,
            status=NoticeStatus.UNCONFIRMED if via_counter else NoticeStatus.FILED,
            filed_at=filed_at,
            filed_by=actor,
            # Routed to the supervising station, wherever it was filed.
            station_id=offender.station_id,
            deadline=deadline,
            is_late=timezone.localdate(filed_at) > deadline,
            **fields,
        )
        if via_counter:
            # Nothing takes effect before the offender's code (module docstring).
            notice.details = json.dumps(new_values, ensure_ascii=False) if new_values else ""
            notice.save(update_fields=["details", "updated_at"])
            if not hooks.handlers("notice_confirmation_requested"):
                raise ImproperlyConfigured("no handler confirms counter notices (checkins)")
            hooks.call("notice_confirmation_requested", notice=notice, actor=actor)
        else:
            _take_effect(actor=actor, offender=offender, notice=notice, values=new_values)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="notice",
            object_id=notice.pk,
            details={
                "kind": kind,
                "offender_id": offender.pk,
                "is_late": notice.is_late,
                "deadline": deadline.isoformat(),
                "station_id": offender.station_id,
                "filed_at_station_id": actor.station_id,
                "via_counter": via_counter,
                "status": notice.status,
            },
        )
        if notice.is_late and not via_counter:
            hooks.call("notice_late", notice=notice, actor=actor)
        hooks.call("notice_filed", notice=notice, actor=actor)
    return notice


def _take_effect(
    *, actor: Officer, offender: Offender, notice: Notice, values: dict[str, Any]
) -> None:
    """Apply what the notice declares and route it to the (possibly new) supervising station."""
    applied = _apply_change(actor=actor, offender=offender, notice=notice, values=values)
    if applied is not None:
        values = {**values, **applied}
    notice.details = json.dumps(values, ensure_ascii=False) if values else ""
    # An address change may have moved supervision: the new station handles the notice.
    notice.station_id = Offender.objects.values_list("station_id", flat=True).get(pk=offender.pk)
    notice.save(update_fields=["status", "details", "station", "updated_at"])


@dataclass(frozen=True)
class NoticeConfirmed:
    """A confirmed counter notice, and where supervision was before it if it moved."""

    notice: Notice
    transferred: bool
    from_station_id: int | None
    from_district_id: int | None


def notice_confirm(*, actor: Officer, notice_id: int) -> NoticeConfirmed:
    """The offender confirmed an ``unconfirmed`` counter notice with the code (checked by the
    caller, checkins): it takes effect now, as if filed at the supervising station. A change of
    supervising station or district is audited as a ``transfer``; the caller notifies the
    station and district that supervised before (``NoticeConfirmed``)."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            raise NotFound()
        if notice.status != NoticeStatus.UNCONFIRMED:
            raise Conflict("This notice is already confirmed.", code="already_confirmed")
        offender = (
            Offender.objects.select_for_update(of=("self",))
            .select_related("station", "district")
            .get(pk=notice.offender_id)
        )
        if offender.status != OffenderStatus.ACTIVE:
            raise Conflict(
                f"An offender who is {offender.status} is not under the duty to report.",
                code="offender_not_reporting",
            )
        from_station_id, from_district_id = offender.station_id, offender.district_id
        notice.status = NoticeStatus.FILED
        _take_effect(actor=actor, offender=offender, notice=notice, values=notice_details(notice))
        now_at = Offender.objects.values_list("station_id", "district_id").get(pk=offender.pk)
        transferred = now_at != (from_station_id, from_district_id)
        audit_record(
            actor=actor,
            action=AuditAction.TRANSITION,
            object_type="notice",
            object_id=notice.pk,
            details={
                "offender_id": offender.pk,
                "from": NoticeStatus.UNCONFIRMED,
                "to": NoticeStatus.FILED,
                "confirmed_by": "offender_code",
            },
        )
        if transferred:
            audit_record(
                actor=actor,
                action=AuditAction.TRANSFER,
                object_type="offender",
                object_id=offender.pk,
                details={
                    "notice_id": notice.pk,
                    "via_counter": True,
                    "from_station_id": from_station_id,
                    "from_district_id": from_district_id,
                    "to_station_id": now_at[0],
                    "to_district_id": now_at[1],
                },
            )
        if notice.is_late:
            hooks.call("notice_late", notice=notice, actor=actor)
    return NoticeConfirmed(
        notice=notice,
        transferred=transferred,
        from_station_id=from_station_id,
        from_district_id=from_district_id,
    )


def _travel_fields(
    *,
    kind: str,
    changed_on: date | None,
    details: dict[str, Any] | None,
    destination_district: str,
    destination_country: str,
    destination_city: str,
    departure_date: date | None,
    return_date: date | None,
    purpose: str,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if changed_on is not None:
        errors["changed_on"] = ["Travel notices carry departure and return dates instead."]
    if details:
        errors["details"] = ["Travel notices take no details."]
    if departure_date is None:
        errors["departure_date"] = ["The departure date is required."]
    if return_date is None:
        errors["return_date"] = ["The return date is required."]
    elif departure_date is not None and return_date < departure_date:
        errors["return_date"] = ["The return date cannot be before the departure date."]
    purpose = purpose.strip()
    if not purpose:
        errors["purpose"] = ["The purpose of the journey is required."]
    fields: dict[str, Any] = {
        "departure_date": departure_date,
        "return_date": return_date,
        "purpose": purpose,
    }
    if kind == NoticeKind.DOMESTIC_TRAVEL:
        for name, value in (
            ("destination_country", destination_country),
            ("destination_city", destination_city),
        ):
            if value:
                errors[name] = ["Domestic travel names a destination district only."]
        district = District.objects.filter(code=destination_district.strip()).first()
        if district is None:
            errors["destination_district"] = ["A known destination district code is required."]
        fields["destination_district"] = district
    else:
        if destination_district:
            errors["destination_district"] = ["International travel names a country and city."]
        country = destination_country.strip().upper()
        if not _COUNTRY_CODE.match(country):
            errors["destination_country"] = ["An ISO 3166-1 alpha-2 country code is required."]
        elif country == "PK":
            errors["destination_country"] = ["Travel within Pakistan is domestic travel."]
        city = destination_city.strip()
        if not city:
            errors["destination_city"] = ["The destination city is required."]
        fields.update(destination_country=country, destination_city=city)
    if errors:
        raise ValidationError(errors)
    return fields


def _change_fields(
    *,
    kind: str,
    today: date,
    changed_on: date | None,
    details: dict[str, Any] | None,
    travel_given: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model fields and the validated new values of a change notice."""
    errors: dict[str, list[str]] = {}
    if changed_on is None:
        errors["changed_on"] = ["The date of the change is required."]
    elif changed_on > today:
        errors["changed_on"] = ["A change is notified once it has happened, not in advance."]
    if travel_given:
        errors["kind"] = ["Destination, dates and purpose belong to travel notices."]
    details = {key: value for key, value in (details or {}).items() if value not in (None, "")}
    allowed, required = _DETAIL_FIELDS[kind]
    for key in sorted(set(details) - allowed):
        errors[f"details.{key}"] = [f"Not part of a {kind} notice."]
    for key in sorted(required - set(details)):
        errors[f"details.{key}"] = ["This field is required."]
    values: dict[str, Any] = {}
    for key, value in details.items():
        if key not in allowed:
            continue
        if key == "phone":
            try:
                values["phone"] = normalise_phone(str(value))
            except ValidationError as exc:
                errors["details.phone"] = exc.messages
        elif key == "address":
            values["address"] = _validated_address(value, errors)
        else:
            try:
                text = clean_text(str(value), name=key in _NAME_KEYS)
            except TextRefused as exc:
                errors[f"details.{key}"] = [str(exc)]
                continue
            if not text:
                errors[f"details.{key}"] = ["This field may not be blank."]
            values[key] = text
    if errors:
        raise ValidationError(errors)
    return {"changed_on": changed_on}, values


def _validated_address(value: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    if not isinstance(value, dict):
        errors["details.address"] = ["An object with text, district, lat and lon is expected."]
        return {}
    try:
        text = clean_text(str(value.get("text") or ""))
    except TextRefused as exc:
        errors["details.address.text"] = [str(exc)]
        text = ""
    else:
        if not text:
            errors["details.address.text"] = ["The address text is required."]
    district_code = str(value.get("district") or "").strip()
    if not District.objects.filter(code=district_code).exists():
        errors["details.address.district"] = ["A known district code is required."]
    lat, lon = value.get("lat"), value.get("lon")
    if (lat is None) != (lon is None):
        errors["details.address.lat"] = ["Give both lat and lon, or neither."]
    return {"text": text, "district": district_code, "lat": lat, "lon": lon}


def _apply_change(
    *, actor: Officer, offender: Offender, notice: Notice, values: dict[str, Any]
) -> dict[str, Any] | None:
    """Make the record say what the change notice declares; returns references to keep in the
    notice's details (the new address id)."""
    if notice.kind == NoticeKind.EMPLOYMENT_CHANGE or notice.kind in TRAVEL_KINDS:
        return None
    if notice.kind == NoticeKind.ADDRESS_CHANGE:
        address_values = values["address"]
        address = address_change(
            actor=actor,
            offender=offender,
            text=address_values["text"],
            district=District.objects.get(code=address_values["district"]),
            lon=address_values["lon"],
            lat=address_values["lat"],
        )
        return {"address_id": address.pk}
    changed: list[str] = []
    if notice.kind == NoticeKind.NAME_CHANGE:
        aliases = list(offender.aliases)
        for old in (offender.full_name, offender.full_name_ur):
            if old and old not in aliases:
                aliases.append(old)
        offender.aliases = aliases
        offender.full_name = values["full_name"]
        changed += ["aliases", "full_name"]
        for optional in ("full_name_ur", "father_name"):
            if optional in values:
                setattr(offender, optional, values[optional])
                changed.append(optional)
    elif notice.kind == NoticeKind.PHONE_CHANGE:
        offender.phone = values["phone"]
        changed.append("phone")
    offender.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="offender",
        object_id=offender.pk,
        details={"fields": changed, "notice_id": notice.pk},
    )
    return None


# --- handling ------------------------------------------------------------------------------


def _notice_for_handling(*, actor: Officer, notice_id: int) -> Notice:
    if not actor.has_permission("notice.manage"):
        raise Forbidden("You may not handle notices of change.")
    notice = notice_get(actor=actor, notice_id=notice_id)
    if not _supervises(actor, notice.offender):
        # Readable (a district role, or history) but not this actor's to handle.
        raise NotFound()
    return notice


def _check_transition(notice: Notice, from_statuses: frozenset[str], to_status: str) -> None:
    if notice.status not in from_statuses:
        raise Conflict(
            f"A notice that is {notice.status} cannot become {to_status}.",
            code="invalid_transition",
            extra={"status": notice.status},
        )


def _transition(
    *,
    notice: Notice,
    from_statuses: frozenset[str],
    to_status: str,
    changes: dict[str, Any],
) -> Notice:
    """Move the notice with a conditional UPDATE: of two officers acting at once, one wins and
    the other gets 409 instead of overwriting."""
    _check_transition(notice, from_statuses, to_status)
    from_status = notice.status
    changes = {**changes, "status": to_status, "updated_at": timezone.now()}
    if Notice.objects.filter(pk=notice.pk, status=from_status).update(**changes) != 1:
        raise Conflict(
            "Someone else changed this notice first; reload it.", code="concurrent_update"
        )
    for field, value in changes.items():
        setattr(notice, field, value)
    return notice


def notice_acknowledge(*, actor: Officer, notice_id: int) -> Notice:
    """The supervising station has reviewed the notice: ``filed → acknowledged``."""
    with transaction.atomic():
        notice = _notice_for_handling(actor=actor, notice_id=notice_id)
        _transition(
            notice=notice,
            from_statuses=frozenset({NoticeStatus.FILED}),
            to_status=NoticeStatus.ACKNOWLEDGED,
            changes={"acknowledged_at": timezone.now(), "acknowledged_by": actor},
        )
        _audit_transition(actor=actor, notice=notice, from_status=NoticeStatus.FILED)
        if notice.kind in TRAVEL_KINDS:
            hooks.call("travel_acknowledged", notice=notice, actor=actor)
    return notice


def notice_cancel(*, actor: Officer, notice_id: int, reason: str) -> Notice:
    """A trip called off: ``filed/acknowledged → cancelled``, travel notices only."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["A reason is required."]})
    with transaction.atomic():
        notice = _notice_for_handling(actor=actor, notice_id=notice_id)
        _require_travel(notice, "cancelled")
        from_status = notice.status
        _transition(
            notice=notice,
            from_statuses=frozenset({NoticeStatus.FILED, NoticeStatus.ACKNOWLEDGED}),
            to_status=NoticeStatus.CANCELLED,
            changes={
                "cancelled_at": timezone.now(),
                "cancelled_by": actor,
                "cancel_reason": reason,
            },
        )
        # The reason is free text and may name people: it stays on the notice.
        _audit_transition(actor=actor, notice=notice, from_status=from_status)
        hooks.call("travel_cancelled", notice=notice, actor=actor)
    return notice


def notice_close(*, actor: Officer, notice_id: int, returned_on: date) -> Notice:
    """The offender is back: ``acknowledged → closed`` with the return date, travel notices only.
    Calls ``travel_returned`` so the apps watching travel (overdue returns) can settle it."""
    with transaction.atomic():
        notice = _notice_for_handling(actor=actor, notice_id=notice_id)
        _require_travel(notice, "closed")
        _check_transition(notice, _CLOSABLE, NoticeStatus.CLOSED)
        if returned_on > timezone.localdate():
            raise ValidationError({"returned_on": ["The return date cannot be in the future."]})
        if notice.departure_date and returned_on < notice.departure_date:
            raise ValidationError(
                {"returned_on": ["The return date cannot be before the departure date."]}
            )
        _transition(
            notice=notice,
            from_statuses=_CLOSABLE,
            to_status=NoticeStatus.CLOSED,
            changes={"closed_at": timezone.now(), "closed_by": actor, "returned_on": returned_on},
        )
        _audit_transition(actor=actor, notice=notice, from_status=NoticeStatus.ACKNOWLEDGED)
        hooks.call("travel_returned", notice=notice, actor=actor)
    return notice


def _require_travel(notice: Notice, to_status: str) -> None:
    if notice.kind not in TRAVEL_KINDS:
        raise Conflict(
            f"Only travel notices can be {to_status}; a change notice takes effect when filed "
            "and is corrected on the record itself.",
            code="not_a_travel_notice",
        )


def _audit_transition(*, actor: Officer, notice: Notice, from_status: str) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.TRANSITION,
        object_type="notice",
        object_id=notice.pk,
        details={
            "kind": notice.kind,
            "offender_id": notice.offender_id,
            "from": from_status,
            "to": notice.status,
        },
    )


def notice_details(notice: Notice) -> dict[str, Any]:
    """The decrypted new values of a notice (empty for travel notices)."""
    return json.loads(notice.details) if notice.details else {}
