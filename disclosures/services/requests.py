"""The records request, made software (Punjab SOP of 22 August 2024).

    investigating officer files ──► district prosecutor ──forward──► NPB ──answer──► prosecutor
            ▲                          │ (48-hour clock)                              │ deliver
            └──── amend / resubmit ◄── return (reason)          officer ◄─────────────┘

Each step is one service: it takes the acting officer, loads the request only if the actor may
see it (``selectors.records_request_get``: 404 otherwise), checks the role's permission (403),
moves the state by a conditional update (``filter(state=OLD).update(...) == 1``, so two clicks
or two prosecutors never both win: 409), records the audit event with the request as its
purpose, and leaves in-app notices for whoever acts next — in one transaction. Notices name
the request number, never the suspect.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Officer
from accounts.roles import Role
from accounts.scoping import jurisdiction_q
from audit.models import AuditAction
from audit.services import audit_read, audit_record
from common.exceptions import ApplicationError, Conflict, Forbidden, NotFound
from compliance.models import Violation, ViolationStatus
from disclosures import selectors
from disclosures.models import RecordsRequest, RequestAnswer, RequestState
from disclosures.pdf import extract_pdf
from disclosures.uploads import UploadRejected, fir_copy_clean
from jurisdictions.models import PoliceStation
from push.services import notify_officers
from registry import selectors as registry_selectors
from registry.identifiers import (
    SCHEDULED_SECTIONS,
    cnic_blind_index,
    fold_digits,
    normalise_cnic,
    normalise_section,
)
from registry.models import Offender

logger = logging.getLogger(__name__)

OBJECT_TYPE = "records_request"
ADVISORY = (
    "For the investigation of FIR {fir} only. Unauthorised use or disclosure of this "
    "information brings disciplinary action (Punjab SOP of 22 August 2024)."
)
SECTIONS_RULE = (
    "A records request is allowed only for an FIR under a scheduled offence (Anti-Rape "
    "(Investigation and Trial) Act 2021, s. 24; SOP of 22 August 2024): at least one of "
    + ", ".join(SCHEDULED_SECTIONS)
    + "."
)
MAX_SECTIONS = 12


class AccessExpired(ApplicationError):
    status_code = 410
    code = "access_expired"


@dataclass(frozen=True)
class Annexure:
    """Annexure A of the SOP, as the officer fills it in."""

    suspect_name: str
    suspect_father_name: str
    suspect_address: str
    relation_to_case: str
    justification: str
    suspect_cnic: str = ""


def clock() -> timedelta:
    return timedelta(hours=settings.NIGRANI_RECORDS_REQUEST_CLOCK_HOURS)


def escalation_delay() -> timedelta:
    return timedelta(hours=settings.NIGRANI_RECORDS_REQUEST_ESCALATE_HOURS)


def advisory_for(request: RecordsRequest) -> str:
    return ADVISORY.format(fir=f"{request.fir_number}/{request.fir_year} ({request.station.name})")


def _audit(actor: Officer | None, action: str, request: RecordsRequest, **details: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        purpose=request.audit_purpose,
        details={"state": request.state, **details},
    )


def _audit_read(actor: Officer, request: RecordsRequest, part: str) -> None:
    audit_read(
        actor=actor,
        object_type=OBJECT_TYPE,
        object_id=request.pk,
        purpose=request.audit_purpose,
        details={"state": request.state, "part": part},
    )


def _notify(officers: Any, kind: str, text: str, request: RecordsRequest) -> None:
    notify_officers(
        officers=officers, kind=kind, text=text, object_type=OBJECT_TYPE, object_id=request.pk
    )


def _prosecutors_of(district_id: int) -> Any:
    return Officer.objects.filter(
        role=Role.DISTRICT_PROSECUTOR, district_id=district_id, is_active=True
    )


def _prosecutors_of_any(district_ids: set[int]) -> Any:
    if not district_ids:
        return []
    return Officer.objects.filter(
        role=Role.DISTRICT_PROSECUTOR, district_id__in=district_ids, is_active=True
    )


def _npb_staff() -> Any:
    return Officer.objects.filter(role=Role.REGISTRY_ADMIN, is_active=True)


def _require(actor: Officer, permission: str) -> None:
    if not actor.is_active or not actor.has_permission(permission):
        raise Forbidden("Your role does not take this step of a records request.")


# --- parsing the officer's input ------------------------------------------------------------


def _sections(values: Any) -> list[str]:
    """Every section as given (scheduled ones normalised); at least one scheduled."""
    if isinstance(values, str) or not isinstance(values, list | tuple) or not values:
        raise ValidationError({"sections": [SECTIONS_RULE]}, code="no_scheduled_section")
    if len(values) > MAX_SECTIONS:
        raise ValidationError({"sections": [f"At most {MAX_SECTIONS} sections."]})
    kept: list[str] = []
    scheduled = 0
    for value in values:
        text = " ".join(str(value or "").upper().split())
        if not text or len(text) > 24:
            raise ValidationError({"sections": ["Each section is 1 to 24 characters."]})
        try:
            text = normalise_section(text)
            scheduled += 1
        except ValidationError:
            pass  # an FIR may add other sections (e.g. PPC 506) beside the scheduled one
        if text not in kept:
            kept.append(text)
    if not scheduled:
        raise ValidationError({"sections": [SECTIONS_RULE]}, code="no_scheduled_section")
    return kept


def _fir_number(value: Any) -> str:
    text = fold_digits(str(value or ""), what="An FIR number", code="invalid_fir_number")
    if not text.isdigit() or not 1 <= len(text) <= 6:
        raise ValidationError({"fir_number": ["The FIR number is 1 to 6 digits, e.g. 123."]})
    return str(int(text))


def _fir_year(value: Any) -> int:
    this_year = timezone.localdate().year
    if not isinstance(value, int) or not 1947 <= value <= this_year:
        raise ValidationError({"fir_year": [f"A year from 1947 to {this_year}."]})
    return value


def _station(actor: Officer, station_code: Any) -> PoliceStation:
    """The FIR's station (by code), if it is in the officer's own jurisdiction (the one
    mechanism): the district, and so the prosecutor, follow from it."""
    stations = PoliceStation.objects.filter(
        jurisdiction_q(actor, district="district", station="pk", permission="records_request.file")
    ).select_related("district")
    station = stations.filter(code=station_code).first() if isinstance(station_code, str) else None
    if station is None:
        raise ValidationError(
            {"station": ["A police station of your own jurisdiction is required."]}
        )
    return station


def _annexure(annexure: Annexure) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name, limit in (
        ("suspect_name", 150),
        ("suspect_father_name", 150),
        ("suspect_address", 500),
        ("relation_to_case", 255),
        ("justification", 2000),
    ):
        text = " ".join(str(getattr(annexure, name) or "").split())
        if not text or len(text) > limit:
            errors[name] = [f"Required, at most {limit} characters."]
        values[name] = text
    cnic = ""
    if annexure.suspect_cnic:
        try:
            cnic = normalise_cnic(annexure.suspect_cnic)
        except ValidationError as exc:
            errors["suspect_cnic"] = exc.messages
    if errors:
        raise ValidationError(errors)
    values["suspect_cnic"] = cnic
    values["suspect_cnic_index"] = cnic_blind_index(cnic) if cnic else ""
    return values


def _scanner() -> Any:
    path = settings.NIGRANI_FIR_COPY_SCANNER
    return import_string(path) if path else None


def _fir_copy(data: bytes | None) -> tuple[str, str]:
    """Check and store the FIR copy; returns (storage name, kind). Stored before the
    transaction: a rollback leaves an unreferenced file, never a row without its file."""
    if not data:
        raise ValidationError({"fir_copy": ["A copy of the FIR (PDF, JPEG or PNG) is required."]})
    try:
        clean = fir_copy_clean(
            data, max_bytes=settings.NIGRANI_FIR_COPY_MAX_BYTES, scanner=_scanner()
        )
    except UploadRejected as exc:
        raise ValidationError({"fir_copy": [str(exc)]}) from exc
    name = default_storage.save(
        f"records_requests/fir/copy.{clean.kind}", ContentFile(clean.content)
    )
    return name, clean.kind


def _attested(attested: Any) -> None:
    if attested is not True:
        raise ValidationError(
            {
                "attestation": [
                    "Attest that the suspect is named in the FIR: the SOP prohibits requests "
                    "about anyone not connected to the case."
                ]
            }
        )


# --- the steps --------------------------------------------------------------------------------


def records_request_file(
    *,
    actor: Officer,
    station_code: str,
    fir_number: Any,
    fir_year: Any,
    sections: Any,
    fir_copy: bytes | None,
    annexure: Annexure,
    attested: bool,
) -> RecordsRequest:
    """An investigating officer files a request with the prosecutor of the FIR's district;
    the 48-hour clock starts."""
    _require(actor, "records_request.file")
    station = _station(actor, station_code)
    values = {
        "fir_number": _fir_number(fir_number),
        "fir_year": _fir_year(fir_year),
        "sections": _sections(sections),
        **_annexure(annexure),
    }
    _attested(attested)
    copy_name, copy_kind = _fir_copy(fir_copy)
    now = timezone.now()
    with transaction.atomic():
        request = RecordsRequest.objects.create(
            officer=actor,
            station=station,
            district=station.district,
            fir_copy=copy_name,
            fir_copy_type=copy_kind,
            officer_attested_at=now,
            state=RequestState.SUBMITTED,
            first_submitted_at=now,
            submitted_at=now,
            due_at=now + clock(),
            **values,
        )
        _notify(
            _prosecutors_of(station.district_id),
            "records_request_submitted",
            f"Records request {request.number} awaits your review within "
            f"{settings.NIGRANI_RECORDS_REQUEST_CLOCK_HOURS} hours.",
            request,
        )
        _audit(actor, AuditAction.CREATE, request, sections=values["sections"])
    return request


def records_request_resubmit(
    *,
    actor: Officer,
    request_id: int,
    changes: dict[str, Any],
    fir_copy: bytes | None,
    attested: bool,
) -> RecordsRequest:
    """The filing officer amends a returned request and sends it back; the clock restarts.
    ``changes`` may hold ``fir_number``, ``fir_year``, ``sections`` and the Annexure A fields;
    a new FIR copy replaces the old one."""
    _require(actor, "records_request.file")
    request = selectors.records_request_get(actor=actor, request_id=request_id)
    if request.officer_id != actor.pk:
        raise NotFound()
    if request.state != RequestState.RETURNED:
        raise Conflict("Only a request returned for clarification can be resubmitted.")
    annexure = Annexure(
        **{
            name: changes.get(name, getattr(request, name))
            for name in Annexure.__dataclass_fields__
        }
    )
    values = {
        "fir_number": _fir_number(changes.get("fir_number", request.fir_number)),
        "fir_year": _fir_year(changes.get("fir_year", request.fir_year)),
        "sections": _sections(changes.get("sections", request.sections)),
        **_annexure(annexure),
    }
    _attested(attested)
    if fir_copy is not None:
        values["fir_copy"], values["fir_copy_type"] = _fir_copy(fir_copy)
    now = timezone.now()
    with transaction.atomic():
        _move(
            request,
            RequestState.RETURNED,
            **values,
            state=RequestState.SUBMITTED,
            officer_attested_at=now,
            submitted_at=now,
            due_at=now + clock(),
            reminded_at=None,
            escalated_at=None,
            resubmissions=request.resubmissions + 1,
            updated_at=now,
        )
        _notify(
            _prosecutors_of(request.district_id),
            "records_request_resubmitted",
            f"Records request {request.number} was resubmitted after clarification.",
            request,
        )
        _audit(actor, AuditAction.UPDATE, request, step="resubmit", changed=sorted(changes))
    return request


def _move(request: RecordsRequest, from_state: str, **values: Any) -> None:
    """Move ``request`` on by a conditional update from ``from_state`` (two clicks, or two
    prosecutors, never both win: the loser is 409) and reload it."""
    if not RecordsRequest.objects.filter(pk=request.pk, state=from_state).update(**values):
        raise Conflict("The request changed meanwhile.")
    request.refresh_from_db()


def _prosecutor_step(actor: Officer, request_id: int, state: str) -> RecordsRequest:
    _require(actor, "records_request.review")
    request = selectors.records_request_get(actor=actor, request_id=request_id)
    if request.state != state:
        raise Conflict(f"The request is {request.state}, not {state}.")
    return request


def records_request_forward(
    *, actor: Officer, request_id: int, suspect_named_in_fir: bool
) -> RecordsRequest:
    """The prosecutor of the FIR's district, having checked the FIR copy, confirms the suspect
    is named in it and forwards the request to the NPB."""
    request = _prosecutor_step(actor, request_id, RequestState.SUBMITTED)
    if suspect_named_in_fir is not True:
        raise ValidationError(
            {
                "suspect_named_in_fir": [
                    "Confirm against the FIR copy that the suspect is named in it, or return "
                    "the request for clarification."
                ]
            }
        )
    now = timezone.now()
    with transaction.atomic():
        _move(
            request,
            RequestState.SUBMITTED,
            state=RequestState.FORWARDED,
            prosecutor=actor,
            prosecutor_confirmed_at=now,
            forwarded_at=now,
            updated_at=now,
        )
        _notify(
            _npb_staff(),
            "records_request_forwarded",
            f"Records request {request.number} was forwarded to the NPB for an answer.",
            request,
        )
        _audit(actor, AuditAction.TRANSITION, request, step="forward", late=now > request.due_at)
    return request


def records_request_return(*, actor: Officer, request_id: int, reason: str) -> RecordsRequest:
    """The prosecutor returns the request to the officer for clarification, with a reason."""
    request = _prosecutor_step(actor, request_id, RequestState.SUBMITTED)
    reason = " ".join(str(reason or "").split())
    if not reason or len(reason) > 500:
        raise ValidationError({"reason": ["Say what needs clarifying (at most 500 characters)."]})
    now = timezone.now()
    with transaction.atomic():
        _move(
            request,
            RequestState.SUBMITTED,
            state=RequestState.RETURNED,
            prosecutor=actor,
            returned_at=now,
            return_reason=reason,
            updated_at=now,
        )
        _notify(
            [request.officer],
            "records_request_returned",
            f"Records request {request.number} was returned for clarification.",
            request,
        )
        _audit(actor, AuditAction.TRANSITION, request, step="return")
    return request


@dataclass(frozen=True)
class Candidate:
    """One register entry the NPB's search found, with why and how well it matched."""

    offender: Offender
    matched_on: str  # "cnic" or "name"
    similarity: float
    name_score: float
    alias_score: float
    father_score: float


def records_request_search(*, actor: Officer, request_id: int, limit: int = 10) -> list[Candidate]:
    """The NPB searches the register for the suspect: the exact CNIC through the blind index
    (when the officer gave one), then name and father's name (and aliases) by trigram
    similarity, with the scores. Audited as a search with the request as its purpose."""
    _require(actor, "records_request.answer")
    request = selectors.records_request_get(actor=actor, request_id=request_id)
    if request.state != RequestState.FORWARDED:
        raise Conflict("Only a request forwarded to the NPB is searched.")
    candidates: list[Candidate] = []
    if request.suspect_cnic:
        for offender in registry_selectors.offender_list(actor=actor, cnic=request.suspect_cnic):
            candidates.append(Candidate(offender, "cnic", 1.0, 1.0, 1.0, 1.0))
    seen = {candidate.offender.pk for candidate in candidates}
    similar = registry_selectors.offender_similar_names(
        actor=actor,
        full_name=request.suspect_name,
        father_name=request.suspect_father_name,
    )
    for offender in similar[:limit]:
        if offender.pk not in seen:
            candidates.append(
                Candidate(
                    offender,
                    "name",
                    round(offender.similarity, 3),
                    round(offender.name_score, 3),
                    round(offender.alias_score, 3),
                    round(offender.father_score, 3),
                )
            )
    audit_read(
        actor=actor,
        object_type="offender",
        purpose=request.audit_purpose,
        details={
            "records_request": request.pk,
            "by_cnic": bool(request.suspect_cnic),
            "count": len(candidates),
        },
        search=True,
    )
    return candidates


def build_extract(offender: Offender) -> dict[str, Any]:
    """The record as disclosed: identity, convictions, last known address and when it was
    verified, compliance status."""
    offender = registry_selectors.offender_detail(offender_id=offender.pk)
    current = offender.current_addresses[0] if offender.current_addresses else None
    open_violations = Violation.objects.filter(
        offender_id=offender.pk, status=ViolationStatus.OPEN
    ).count()
    return {
        "offender_id": offender.pk,
        "identity": {
            "full_name": offender.full_name,
            "father_name": offender.father_name,
            "full_name_ur": offender.full_name_ur,
            "father_name_ur": offender.father_name_ur,
            "aliases": list(offender.aliases),
            "cnic": offender.cnic,
            "gender": offender.gender,
            "date_of_birth": offender.date_of_birth.isoformat() if offender.date_of_birth else None,
        },
        "convictions": [
            {
                "fir_number": c.fir_number,
                "police_station": c.police_station,
                "court": c.court,
                "case_number": c.case_number,
                "conviction_date": c.conviction_date.isoformat(),
                "sentence": c.sentence,
                "sections": list(c.sections),
            }
            for c in offender.convictions.all()
        ],
        "address": {
            "text": current.text,
            "district": current.district.name,
            "station": current.station.name if current.station else None,
            "recorded_at": current.valid_from.isoformat(),
            "last_verified_at": (
                offender.last_verified_on.isoformat() if offender.last_verified_on else None
            ),
        }
        if current
        else None,
        "compliance": {
            "status": offender.status,
            "open_violations": open_violations,
            "next_checkin_due": offender.next_checkin_due.isoformat()
            if offender.next_checkin_due
            else None,
            "next_verification_due": offender.next_verification_due.isoformat()
            if offender.next_verification_due
            else None,
        },
    }


def records_request_answer(
    *, actor: Officer, request_id: int, offender_id: int | None
) -> RecordsRequest:
    """The NPB answers: a match (``offender_id``: the record is frozen into the extract) or no
    match (``None``). The answer goes to the prosecutor, who passes it on."""
    _require(actor, "records_request.answer")
    request = selectors.records_request_get(actor=actor, request_id=request_id)
    if request.state != RequestState.FORWARDED:
        raise Conflict("Only a request forwarded to the NPB is answered.")
    values: dict[str, Any] = {"answer": RequestAnswer.NO_MATCH, "offender": None, "extract": ""}
    if offender_id is not None:
        offender = (
            registry_selectors.offender_queryset_for(actor=actor).filter(pk=offender_id).first()
        )
        if offender is None:
            raise ValidationError({"offender_id": ["No such record on the register."]})
        values = {
            "answer": RequestAnswer.MATCH,
            "offender": offender,
            "extract": json.dumps(build_extract(offender), ensure_ascii=False),
        }
    now = timezone.now()
    with transaction.atomic():
        _move(
            request,
            RequestState.FORWARDED,
            state=RequestState.ANSWERED,
            answered_at=now,
            answered_by=actor,
            updated_at=now,
            **values,
        )
        _notify(
            _prosecutors_of(request.district_id),
            "records_request_answered",
            f"The NPB answered records request {request.number}: pass it to the officer.",
            request,
        )
        _audit(actor, AuditAction.TRANSITION, request, step="answer", answer=request.answer)
    return request


def records_request_deliver(*, actor: Officer, request_id: int) -> RecordsRequest:
    """The prosecutor passes the NPB's answer to the officer with the SOP's advisory; the
    officer's access to the extract runs from now for the configured days."""
    request = _prosecutor_step(actor, request_id, RequestState.ANSWERED)
    now = timezone.now()
    expires_at = now + timedelta(days=settings.NIGRANI_RECORDS_EXTRACT_ACCESS_DAYS)
    with transaction.atomic():
        _move(
            request,
            RequestState.ANSWERED,
            state=RequestState.DELIVERED,
            delivered_at=now,
            access_expires_at=expires_at,
            updated_at=now,
        )
        _notify(
            [request.officer],
            "records_request_delivered",
            f"The answer to records request {request.number} is available until "
            f"{timezone.localtime(expires_at):%Y-%m-%d %H:%M} PKT.",
            request,
        )
        _audit(actor, AuditAction.TRANSITION, request, step="deliver")
    return request


# --- reading the extract --------------------------------------------------------------------


def _extract_for(actor: Officer, request_id: int, now: datetime) -> RecordsRequest:
    request = selectors.records_request_get(actor=actor, request_id=request_id)
    verdict = selectors.extract_access(actor=actor, request=request, now=now)
    if verdict == selectors.EXTRACT_EXPIRED:
        raise AccessExpired("Your access to this extract has expired.")
    if verdict != selectors.EXTRACT_ALLOWED:
        raise Conflict("There is no extract for you to read on this request (yet).")
    return request


def records_request_extract(*, actor: Officer, request_id: int) -> dict[str, Any]:
    """The extract (JSON) with the advisory, if the actor may read it now; audited."""
    now = timezone.now()
    request = _extract_for(actor, request_id, now)
    _audit_read(actor, request, "extract")
    return {
        "number": request.number,
        "advisory": advisory_for(request),
        "access_expires_at": request.access_expires_at,
        **json.loads(request.extract),
    }


def officer_label(officer: Officer) -> str:
    parts = [officer.rank, officer.full_name]
    label = " ".join(part for part in parts if part)
    return f"{label} ({officer.badge_number})" if officer.badge_number else label


def records_request_extract_pdf(*, actor: Officer, request_id: int) -> tuple[RecordsRequest, bytes]:
    """The extract as a PDF watermarked with the requesting officer, the request number and
    the time of this download on every page; audited as an export."""
    now = timezone.now()
    request = _extract_for(actor, request_id, now)
    content = extract_pdf(
        extract=json.loads(request.extract),
        request_number=request.number,
        officer=officer_label(request.officer),
        downloaded_at=f"{timezone.localtime(now):%Y-%m-%d %H:%M:%S} PKT by {actor.username}",
        advisory=advisory_for(request),
    )
    _audit(actor, AuditAction.EXPORT, request, part="extract_pdf")
    return request, content


def records_request_fir_copy_read(*, actor: Officer, records_request: RecordsRequest) -> None:
    """Audit a read of the FIR copy of a request the actor sees (``selectors.records_request_get``;
    the prosecutor checks the copy). Called once the file is open, so a copy lost from storage
    (404) is not recorded as read."""
    _audit_read(actor, records_request, "fir_copy")


def records_request_read(*, actor: Officer, request_id: int) -> RecordsRequest:
    """One request as its detail shows it; audited."""
    request = selectors.records_request_get(actor=actor, request_id=request_id)
    _audit_read(actor, request, "detail")
    return request


# --- the clock ------------------------------------------------------------------------------


def records_requests_clock_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Set-based: remind the prosecutors of every request whose clock ran out, and tell the
    NPB of those still not forwarded ``NIGRANI_RECORDS_REQUEST_ESCALATE_HOURS`` later. Each
    request is reminded once and escalated once (one conditional update per kind); a
    resubmission starts afresh. Safe to run as often as wanted and by two workers at once
    (``skip_locked``). Per request there remain only its in-app notice (one insert: push owns
    that table) and its audit event (the chain is appended one event at a time)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            RecordsRequest.objects.select_for_update(skip_locked=True).filter(
                state=RequestState.SUBMITTED, due_at__lte=now, reminded_at__isnull=True
            )
        )
        RecordsRequest.objects.filter(pk__in=[r.pk for r in due]).update(reminded_at=now)
        late = list(
            RecordsRequest.objects.select_for_update(skip_locked=True).filter(
                Q(state=RequestState.SUBMITTED)
                & Q(reminded_at__isnull=False)
                & Q(escalated_at__isnull=True)
                & Q(due_at__lte=now - escalation_delay())
            )
        )
        RecordsRequest.objects.filter(pk__in=[r.pk for r in late]).update(escalated_at=now)
        prosecutors: dict[int, list[Officer]] = {}
        for officer in _prosecutors_of_any({r.district_id for r in due}):
            prosecutors.setdefault(officer.district_id, []).append(officer)
        npb = list(_npb_staff()) if late else []
        hours = settings.NIGRANI_RECORDS_REQUEST_CLOCK_HOURS
        for request in due:
            _notify(
                prosecutors.get(request.district_id, []),
                "records_request_overdue",
                f"Records request {request.number} is past its {hours}-hour deadline: "
                "forward or return it.",
                request,
            )
        for request in late:
            _notify(
                npb,
                "records_request_escalated",
                f"Records request {request.number} has waited for the district prosecutor "
                "past its deadline.",
                request,
            )
        for request in due:
            _audit(None, AuditAction.UPDATE, request, step="reminder")
        for request in late:
            _audit(None, AuditAction.UPDATE, request, step="escalation")
    if due or late:
        logger.info("records requests: %s reminded, %s escalated", len(due), len(late))
    return {"reminded": len(due), "escalated": len(late)}
