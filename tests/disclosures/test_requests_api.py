"""Wiring of /api/v1/records-requests/: upload, permissions (403/404/401), error bodies, PDF."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from tests.disclosures.conftest import answered, pdf_bytes, registered_suspect

pytestmark = pytest.mark.django_db

URL = "/api/v1/records-requests/"


def _form(**overrides):
    data = {
        "station": "lahore-a",
        "fir_number": "123",
        "fir_year": 2026,
        "sections": ["PPC 376", "PPC 506"],
        "suspect_name": "Imtiaz Ahmed",
        "suspect_father_name": "Ghulam Rasool",
        "suspect_address": "House 4, Street 9, Samanabad",
        "relation_to_case": "accused",
        "justification": "Prior convictions bear on bail.",
        "attestation": "true",
        "fir_copy": SimpleUploadedFile("fir.pdf", pdf_bytes(), content_type="application/pdf"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_an_officer_files_by_multipart_and_the_prosecutor_sees_it(
    client_for, investigating_officer, district_prosecutor
):
    response = client_for(investigating_officer).post(URL, _form(), format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "submitted"
    assert body["district"] == "lahore"
    assert body["sections"] == ["PPC 376", "PPC 506"]
    assert body["overdue"] is False
    listed = client_for(district_prosecutor).get(URL).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]
    copy = client_for(district_prosecutor).get(f"{URL}{body['id']}/fir-copy/")
    assert copy.status_code == 200
    assert copy["Content-Type"] == "application/pdf"
    assert copy["Cache-Control"] == "private, no-store"
    assert copy["Content-Disposition"] == f'attachment; filename="{body["number"]}-fir.pdf"'
    assert b"".join(copy.streaming_content).startswith(b"%PDF-")


def test_unscheduled_sections_are_a_400_naming_the_rule(client_for, investigating_officer):
    response = client_for(investigating_officer).post(
        URL, _form(sections=["PPC 302"]), format="multipart"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert "scheduled offence" in body["fields"]["sections"][0]


def test_missing_copy_and_attestation_are_400s_on_their_fields(client_for, investigating_officer):
    client = client_for(investigating_officer)
    missing = client.post(URL, _form(fir_copy=None), format="multipart")
    assert missing.status_code == 400
    assert "fir_copy" in missing.json()["fields"]
    unattested = client.post(URL, _form(attestation="false"), format="multipart")
    assert unattested.status_code == 400
    assert "attestation" in unattested.json()["fields"]
    renamed = client.post(
        URL,
        _form(fir_copy=SimpleUploadedFile("fir.pdf", b"MZ\x90\0 not a pdf", "application/pdf")),
        format="multipart",
    )
    assert renamed.status_code == 400
    assert "fir_copy" in renamed.json()["fields"]


def test_wrong_roles_are_403_and_anonymous_401(
    client_for, api_client, district_prosecutor, station_officer, investigating_officer
):
    assert client_for(district_prosecutor).post(URL, _form(), format="multipart").status_code == 403
    assert client_for(station_officer).get(URL).status_code == 403
    assert api_client.get(URL).status_code == 401
    created = client_for(investigating_officer).post(URL, _form(), format="multipart").json()
    forward = client_for(investigating_officer).post(
        f"{URL}{created['id']}/forward/", {"suspect_named_in_fir": True}, format="json"
    )
    assert forward.status_code == 403


def test_other_district_is_404(client_for, investigating_officer, prosecutor_elsewhere):
    created = client_for(investigating_officer).post(URL, _form(), format="multipart").json()
    client = client_for(prosecutor_elsewhere)
    assert client.get(f"{URL}{created['id']}/").status_code == 404
    assert (
        client.post(
            f"{URL}{created['id']}/forward/", {"suspect_named_in_fir": True}, format="json"
        ).status_code
        == 404
    )


def test_the_whole_path_over_http(
    world, client_for, investigating_officer, district_prosecutor, registry_admin
):
    suspect = registered_suspect(world)
    officer, dpp, npb = (
        client_for(investigating_officer),
        client_for(district_prosecutor),
        client_for(registry_admin),
    )
    rid = officer.post(URL, _form(), format="multipart").json()["id"]
    returned = dpp.post(f"{URL}{rid}/return/", {"reason": "Page 2 missing"}, format="json")
    assert returned.json()["state"] == "returned"
    resubmitted = officer.post(
        f"{URL}{rid}/resubmit/",
        {"attestation": True, "relation_to_case": "accused, p.2"},
        format="json",
    )
    assert resubmitted.status_code == 200, resubmitted.json()
    forwarded = dpp.post(f"{URL}{rid}/forward/", {"suspect_named_in_fir": True}, format="json")
    assert forwarded.status_code == 200
    candidates = npb.post(f"{URL}{rid}/search/").json()
    assert candidates[0]["offender_id"] == suspect.pk
    assert candidates[0]["similarity"] > 0.9
    bad = npb.post(f"{URL}{rid}/answer/", {"result": "match"}, format="json")
    assert bad.status_code == 400
    answer = npb.post(
        f"{URL}{rid}/answer/", {"result": "match", "offender_id": suspect.pk}, format="json"
    )
    assert answer.json()["state"] == "answered"
    # The officer learns the answer only through the prosecutor.
    assert officer.get(f"{URL}{rid}/").json()["answer"] == ""
    assert officer.get(f"{URL}{rid}/extract/").status_code == 409
    assert dpp.post(f"{URL}{rid}/deliver/").json()["state"] == "delivered"
    detail = officer.get(f"{URL}{rid}/").json()
    assert detail["answer"] == "match"
    assert "disciplinary" in detail["advisory"]
    assert officer.get(f"{URL}{rid}/extract/").json()["identity"]["full_name"] == "Imtiaz Ahmed"
    pdf = officer.get(f"{URL}{rid}/extract.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Cache-Control"] == "private, no-store"
    assert pdf["Content-Disposition"] == f'attachment; filename="{detail["number"]}.pdf"'
    # A client asking for the PDF by its type gets it (not DRF's 406), an error still in JSON.
    assert officer.get(f"{URL}{rid}/extract.pdf", HTTP_ACCEPT="application/pdf").status_code == 200
    refused = officer.get(f"{URL}{rid + 1000}/fir-copy/", HTTP_ACCEPT="application/pdf")
    assert refused.status_code == 404
    assert refused.json()["code"] == "not_found"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "RR-" in text
    assert "Issued to" in text


def test_overdue_filter(client_for, investigating_officer, district_prosecutor, registry_admin):
    request = answered(investigating_officer, district_prosecutor, registry_admin)
    response = client_for(district_prosecutor).get(URL, {"overdue": "true"})
    assert response.status_code == 200
    assert request.pk not in [r["id"] for r in response.json()["results"]]
