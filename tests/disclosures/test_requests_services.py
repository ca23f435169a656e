"""The records request, step by step as the SOP has it, and each refusal."""

import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden, NotFound
from disclosures import selectors
from disclosures.models import RecordsRequest, RequestAnswer, RequestState
from disclosures.services import requests as services
from push.models import Notification
from tests.disclosures.conftest import (
    SUSPECT_CNIC,
    annexure,
    answered,
    file_request,
    jpeg_bytes,
    pdf_bytes,
    registered_suspect,
)
from tests.factories import ConvictionFactory

pytestmark = pytest.mark.django_db

URDU = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _field_error(caught, field: str) -> str:
    return " ".join(caught.value.message_dict[field])


# --- filing -----------------------------------------------------------------------------------


def test_filing_goes_to_the_prosecutor_of_the_fir_district_and_starts_the_clock(
    investigating_officer, district_prosecutor, prosecutor_elsewhere, world
):
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False):
        request = file_request(investigating_officer)
    assert request.state == RequestState.SUBMITTED
    assert request.district == world.lahore
    assert request.due_at - request.submitted_at == timedelta(hours=48)
    assert request.officer_attested_at is not None
    assert request.sections == ["PPC 376", "PPC 506"]
    assert request.number == f"RR-2026-{request.pk:06d}"
    notices = Notification.objects.filter(object_type="records_request", object_id=str(request.pk))
    assert {n.officer for n in notices} == {district_prosecutor}
    assert "Imtiaz" not in notices.get().text
    event = AuditEvent.objects.filter(object_type="records_request").latest("id")
    assert (event.action, event.purpose) == ("create", request.audit_purpose)


@pytest.mark.parametrize("sections", [["PPC 302"], ["PPC 302", "PPC 506"], [], "PPC 376"])
def test_a_request_without_a_scheduled_offence_is_refused_naming_the_rule(
    investigating_officer, sections
):
    with pytest.raises(ValidationError) as caught:
        file_request(investigating_officer, sections=sections)
    message = _field_error(caught, "sections")
    assert "scheduled offence" in message
    assert "PPC 376" in message
    assert "PECA 21" in message
    assert not RecordsRequest.objects.exists()


def test_sections_in_other_spellings_are_normalised(investigating_officer):
    request = file_request(investigating_officer, sections=["376 ppc", "s. 377-B PPC", "506"])
    assert request.sections == ["PPC 376", "PPC 377B", "506"]


@pytest.mark.parametrize(
    "persona", ["district_prosecutor", "registry_admin", "station_officer", "auditor"]
)
def test_only_an_investigating_officer_files(persona, request):
    with pytest.raises(Forbidden):
        file_request(request.getfixturevalue(persona))


def test_an_officer_files_only_for_a_station_of_its_own_jurisdiction(investigating_officer):
    for code in ("kasur-a", "lahore-b", "no-such-station"):
        with pytest.raises(ValidationError) as caught:
            file_request(investigating_officer, station_code=code)
        assert "own jurisdiction" in _field_error(caught, "station")


def test_the_fir_copy_is_required(investigating_officer):
    with pytest.raises(ValidationError) as caught:
        file_request(investigating_officer, fir_copy=None)
    assert "copy of the FIR" in _field_error(caught, "fir_copy")


def test_the_attestation_is_required(investigating_officer):
    with pytest.raises(ValidationError) as caught:
        file_request(investigating_officer, attested=False)
    assert "named in the FIR" in _field_error(caught, "attestation")
    assert not RecordsRequest.objects.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not a pdf, renamed fir.pdf",
        b"%PDF-1.4\n garbage that does not parse",
        b"GIF89a" + b"\0" * 40,
    ],
)
def test_the_fir_copy_type_is_decoded_not_trusted(investigating_officer, content):
    with pytest.raises(ValidationError) as caught:
        file_request(investigating_officer, fir_copy=content)
    assert "PDF, JPEG or PNG" in _field_error(caught, "fir_copy")


def test_the_fir_copy_is_size_limited(investigating_officer, settings):
    settings.NIGRANI_FIR_COPY_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as caught:
        file_request(investigating_officer, fir_copy=pdf_bytes() + b" " * 2048)
    assert "at most" in _field_error(caught, "fir_copy")


def refuse_everything(content: bytes, kind: str) -> bool:
    return False


def test_the_scan_hook_sees_the_kept_bytes_and_may_refuse(investigating_officer, settings):
    settings.NIGRANI_FIR_COPY_SCANNER = "tests.disclosures.test_requests_services.refuse_everything"
    with pytest.raises(ValidationError) as caught:
        file_request(investigating_officer)
    assert "scanner" in _field_error(caught, "fir_copy")


def test_an_image_copy_is_re_encoded_without_its_metadata(investigating_officer):
    source = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    Image.new("RGB", (40, 30), "white").save(source, format="JPEG", exif=exif)
    request = file_request(investigating_officer, fir_copy=source.getvalue())
    assert request.fir_copy_type == "jpg"
    with request.fir_copy.open("rb") as handle:
        kept = Image.open(io.BytesIO(handle.read()))
        assert not kept.getexif()


def test_urdu_digits_in_the_fir_number_and_cnic_are_accepted(investigating_officer):
    request = file_request(
        investigating_officer,
        fir_number="۱۲۳",
        annexure=annexure(suspect_cnic=SUSPECT_CNIC.translate(URDU)),
    )
    assert request.fir_number == "123"
    assert request.suspect_cnic == SUSPECT_CNIC


# --- the prosecutor ---------------------------------------------------------------------------


def test_the_prosecutor_confirms_and_forwards_to_the_npb(
    investigating_officer, district_prosecutor, registry_admin
):
    request = file_request(investigating_officer)
    forwarded = services.records_request_forward(
        actor=district_prosecutor, request_id=request.pk, suspect_named_in_fir=True
    )
    assert forwarded.state == RequestState.FORWARDED
    assert forwarded.prosecutor == district_prosecutor
    assert forwarded.prosecutor_confirmed_at is not None
    assert Notification.objects.filter(
        officer=registry_admin, kind="records_request_forwarded"
    ).exists()


def test_forwarding_needs_the_prosecutors_confirmation(investigating_officer, district_prosecutor):
    request = file_request(investigating_officer)
    with pytest.raises(ValidationError) as caught:
        services.records_request_forward(
            actor=district_prosecutor, request_id=request.pk, suspect_named_in_fir=False
        )
    assert "named in it" in _field_error(caught, "suspect_named_in_fir")
    request.refresh_from_db()
    assert request.state == RequestState.SUBMITTED


def test_a_prosecutor_of_another_district_does_not_see_the_request(
    investigating_officer, prosecutor_elsewhere
):
    request = file_request(investigating_officer)
    with pytest.raises(NotFound):
        services.records_request_forward(
            actor=prosecutor_elsewhere, request_id=request.pk, suspect_named_in_fir=True
        )
    assert not selectors.records_request_list(actor=prosecutor_elsewhere).exists()


def test_others_cannot_forward(investigating_officer, registry_admin, district_prosecutor):
    request = file_request(investigating_officer)
    for actor in (investigating_officer, registry_admin):
        with pytest.raises(Forbidden):
            services.records_request_forward(
                actor=actor, request_id=request.pk, suspect_named_in_fir=True
            )
    services.records_request_forward(
        actor=district_prosecutor, request_id=request.pk, suspect_named_in_fir=True
    )
    with pytest.raises(Conflict):
        services.records_request_forward(
            actor=district_prosecutor, request_id=request.pk, suspect_named_in_fir=True
        )


def test_returned_for_clarification_then_amended_and_resubmitted_with_a_new_clock(
    investigating_officer, district_prosecutor
):
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False) as traveller:
        request = file_request(investigating_officer)
        traveller.shift(timedelta(hours=20))
        with pytest.raises(ValidationError):
            services.records_request_return(
                actor=district_prosecutor, request_id=request.pk, reason="  "
            )
        returned = services.records_request_return(
            actor=district_prosecutor, request_id=request.pk, reason="Attach page 2 of the FIR."
        )
        assert returned.state == RequestState.RETURNED
        assert Notification.objects.filter(
            officer=investigating_officer, kind="records_request_returned"
        ).exists()
        traveller.shift(timedelta(hours=30))
        resubmitted = services.records_request_resubmit(
            actor=investigating_officer,
            request_id=request.pk,
            changes={"relation_to_case": "accused, named on page 2"},
            fir_copy=jpeg_bytes(),
            attested=True,
        )
        now = timezone.now()
    assert resubmitted.state == RequestState.SUBMITTED
    assert resubmitted.submitted_at == now
    assert resubmitted.due_at == now + timedelta(hours=48)
    assert resubmitted.first_submitted_at == request.first_submitted_at
    assert resubmitted.relation_to_case == "accused, named on page 2"
    assert resubmitted.fir_copy_type == "jpg"
    assert resubmitted.resubmissions == 1


def test_only_the_filing_officer_resubmits_and_only_a_returned_request(
    investigating_officer, colleague, district_prosecutor
):
    request = file_request(investigating_officer)
    with pytest.raises(Conflict):
        services.records_request_resubmit(
            actor=investigating_officer,
            request_id=request.pk,
            changes={},
            fir_copy=None,
            attested=True,
        )
    services.records_request_return(actor=district_prosecutor, request_id=request.pk, reason="x")
    with pytest.raises(NotFound):
        services.records_request_resubmit(
            actor=colleague, request_id=request.pk, changes={}, fir_copy=None, attested=True
        )
    with pytest.raises(ValidationError):
        services.records_request_resubmit(
            actor=investigating_officer,
            request_id=request.pk,
            changes={"sections": ["PPC 302"]},
            fir_copy=None,
            attested=True,
        )


# --- the NPB ------------------------------------------------------------------------------------


def test_the_npb_finds_the_suspect_by_exact_cnic(
    world, investigating_officer, district_prosecutor, registry_admin
):
    suspect = registered_suspect(world)
    registered_suspect(world, cnic="35202-5550009-1", full_name="Someone Else")
    request = file_request(
        investigating_officer,
        annexure=annexure(suspect_name="I. Ahmad", suspect_cnic=SUSPECT_CNIC.translate(URDU)),
    )
    services.records_request_forward(
        actor=district_prosecutor, request_id=request.pk, suspect_named_in_fir=True
    )
    candidates = services.records_request_search(actor=registry_admin, request_id=request.pk)
    assert candidates[0].offender == suspect
    assert candidates[0].matched_on == "cnic"
    event = AuditEvent.objects.filter(action="search").latest("id")
    assert event.purpose == request.audit_purpose


def test_the_npb_finds_the_suspect_by_name_father_and_alias_with_scores(
    world, investigating_officer, district_prosecutor, registry_admin
):
    suspect = registered_suspect(world)
    namesake = registered_suspect(world, cnic="35202-5550002-1", father_name="Muhammad Din")
    by_alias = registered_suspect(
        world, cnic="35202-5550003-1", full_name="Khalid Mehmood", aliases=["Imtiaz Ahmad"]
    )
    request = file_request(investigating_officer)
    services.records_request_forward(
        actor=district_prosecutor, request_id=request.pk, suspect_named_in_fir=True
    )
    candidates = services.records_request_search(actor=registry_admin, request_id=request.pk)
    by_offender = {c.offender: c for c in candidates}
    assert candidates[0].offender == suspect
    assert by_offender[suspect].similarity > by_offender[namesake].similarity
    assert by_offender[suspect].father_score == 1.0
    assert by_offender[by_alias].alias_score > 0.5
    assert all(c.matched_on == "name" for c in candidates)


def test_the_npb_searches_and_answers_only_forwarded_requests(
    investigating_officer, registry_admin, district_prosecutor
):
    request = file_request(investigating_officer)
    with pytest.raises(NotFound):  # not yet the NPB's to see
        services.records_request_search(actor=registry_admin, request_id=request.pk)
    with pytest.raises(Forbidden):
        services.records_request_search(actor=district_prosecutor, request_id=request.pk)


def test_a_match_freezes_the_extract_and_goes_back_through_the_prosecutor(
    world, investigating_officer, district_prosecutor, registry_admin
):
    suspect = registered_suspect(world)
    request = answered(investigating_officer, district_prosecutor, registry_admin, suspect)
    assert request.state == RequestState.ANSWERED
    assert request.answer == RequestAnswer.MATCH
    extract = json.loads(request.extract)
    assert extract["identity"]["father_name"] == "Ghulam Rasool"
    assert extract["convictions"][0]["sections"] == ["PPC 376"]
    assert extract["address"]["text"].startswith("House")
    assert extract["compliance"]["status"] == "active"
    # With the prosecutor now, not yet with the officer.
    with pytest.raises(Conflict):
        services.records_request_extract(actor=investigating_officer, request_id=request.pk)
    assert services.records_request_extract(actor=district_prosecutor, request_id=request.pk)
    delivered = services.records_request_deliver(actor=district_prosecutor, request_id=request.pk)
    assert delivered.state == RequestState.DELIVERED
    body = services.records_request_extract(actor=investigating_officer, request_id=request.pk)
    assert body["identity"]["full_name"] == "Imtiaz Ahmed"
    assert "investigation of FIR" in body["advisory"]
    assert "disciplinary action" in body["advisory"]


def test_no_match_carries_no_extract_but_the_advisory_reaches_the_officer(
    investigating_officer, district_prosecutor, registry_admin
):
    request = answered(investigating_officer, district_prosecutor, registry_admin)
    assert request.answer == RequestAnswer.NO_MATCH
    services.records_request_deliver(actor=district_prosecutor, request_id=request.pk)
    with pytest.raises(Conflict):
        services.records_request_extract(actor=investigating_officer, request_id=request.pk)


def test_nobody_else_reaches_the_extract(
    world,
    investigating_officer,
    colleague,
    district_prosecutor,
    prosecutor_elsewhere,
    registry_admin,
    station_officer,
):
    request = answered(
        investigating_officer, district_prosecutor, registry_admin, registered_suspect(world)
    )
    services.records_request_deliver(actor=district_prosecutor, request_id=request.pk)
    for outsider in (colleague, prosecutor_elsewhere, station_officer):
        with pytest.raises(NotFound):
            services.records_request_extract(actor=outsider, request_id=request.pk)


def test_the_officers_access_expires(
    world, investigating_officer, district_prosecutor, registry_admin, settings
):
    settings.NIGRANI_RECORDS_EXTRACT_ACCESS_DAYS = 7
    with time_machine.travel("2026-03-02 09:00:00+00:00", tick=False) as traveller:
        request = answered(
            investigating_officer, district_prosecutor, registry_admin, registered_suspect(world)
        )
        services.records_request_deliver(actor=district_prosecutor, request_id=request.pk)
        traveller.shift(timedelta(days=7) - timedelta(seconds=1))
        services.records_request_extract_pdf(actor=investigating_officer, request_id=request.pk)
        traveller.shift(timedelta(seconds=1))
        with pytest.raises(services.AccessExpired):
            services.records_request_extract(actor=investigating_officer, request_id=request.pk)
        with pytest.raises(services.AccessExpired):
            services.records_request_extract_pdf(actor=investigating_officer, request_id=request.pk)
        # The record keepers on its path keep theirs.
        assert services.records_request_extract(actor=district_prosecutor, request_id=request.pk)


def test_every_step_view_and_download_is_audited_with_the_request_as_purpose(
    world, investigating_officer, district_prosecutor, registry_admin
):
    request = answered(
        investigating_officer, district_prosecutor, registry_admin, registered_suspect(world)
    )
    services.records_request_deliver(actor=district_prosecutor, request_id=request.pk)
    services.records_request_read(actor=investigating_officer, request_id=request.pk)
    services.records_request_extract(actor=investigating_officer, request_id=request.pk)
    services.records_request_extract_pdf(actor=investigating_officer, request_id=request.pk)
    seen = selectors.records_request_get(actor=district_prosecutor, request_id=request.pk)
    services.records_request_fir_copy_read(actor=district_prosecutor, records_request=seen)
    events = AuditEvent.objects.filter(object_type="records_request", object_id=str(request.pk))
    steps = [
        (e.action, e.details.get("step") or e.details.get("part")) for e in events.order_by("id")
    ]
    assert steps == [
        ("create", None),
        ("transition", "forward"),
        ("transition", "answer"),
        ("transition", "deliver"),
        ("read", "detail"),
        ("read", "extract"),
        ("export", "extract_pdf"),
        ("read", "fir_copy"),
    ]
    assert {e.purpose for e in events} == {request.audit_purpose}
    dumped = json.dumps([e.details for e in events])
    assert "Imtiaz" not in dumped
    assert SUSPECT_CNIC not in dumped


# --- the watermarked PDF ----------------------------------------------------------------------


def test_the_pdf_names_the_officer_request_and_download_time_on_every_page(
    world, investigating_officer, district_prosecutor, registry_admin
):
    suspect = registered_suspect(world)
    ConvictionFactory.create_batch(  # enough convictions for several pages
        40,
        offender=suspect,
        conviction_date="2011-01-01",
        sentence="5 years",
        sections=["PPC 377"],
        victim_minor=False,
    )
    request = answered(investigating_officer, district_prosecutor, registry_admin, suspect)
    services.records_request_deliver(actor=district_prosecutor, request_id=request.pk)
    with time_machine.travel("2026-04-10 07:30:15+00:00", tick=False):
        _, content = services.records_request_extract_pdf(
            actor=investigating_officer, request_id=request.pk
        )
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) > 1
    label = services.officer_label(investigating_officer)
    for page in reader.pages:
        text = page.extract_text()
        assert f"Issued to {label}" in text
        assert f"Request {request.number}" in text
        assert "Downloaded 2026-04-10 12:30:15 PKT" in text
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    for text in (first, last):
        flat = " ".join(text.split())
        assert "For the investigation of FIR" in flat
        assert "disciplinary action" in flat
    assert "Ghulam Rasool" in first
