"""Demo data of the disclosures app for ``seed_demo`` (development only): three records
requests by the demo investigating officer, one at each interesting point of the SOP — with
the prosecutor (clock running), with the NPB, and answered with a match and passed back, so
the demo officer can open the extract and its watermarked PDF. Idempotent: once the demo
officer has a request, nothing is added. The public SMS check stays off (a setting)."""

import io

from django.conf import settings
from reportlab.pdfgen import canvas

from accounts.models import Officer
from accounts.roles import Role
from disclosures.models import RecordsRequest
from disclosures.services import requests as services
from jurisdictions.demo import SeedSummary, demo_username
from registry.models import Offender, OffenderStatus


def _fir_copy(number: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 760, f"FIRST INFORMATION REPORT No. {number} (demo)")
    page.drawString(72, 740, "Offence: PPC 376. Accused named in the report.")
    page.save()
    return out.getvalue()


def seed_demo_disclosures() -> SeedSummary:
    if not settings.DEV_MODE:
        raise RuntimeError("demo data is for development only (NIGRANI_DEV=1)")
    summary = SeedSummary(name="disclosures")
    officer = Officer.objects.get(username=demo_username(Role.INVESTIGATING_OFFICER))
    prosecutor = Officer.objects.get(username=demo_username(Role.DISTRICT_PROSECUTOR))
    npb = Officer.objects.get(username=demo_username(Role.REGISTRY_ADMIN))
    if RecordsRequest.objects.filter(officer=officer).exists():
        summary.created = {"records_requests": 0}
        return summary
    suspect = (
        Offender.objects.filter(status=OffenderStatus.ACTIVE, district=officer.district_id)
        .order_by("pk")
        .first()
    )
    names = (suspect.full_name, suspect.father_name) if suspect else ("Unknown", "Unknown")
    made = []
    for number in ("101", "102", "103"):
        made.append(
            services.records_request_file(
                actor=officer,
                station_code=officer.station.code,
                fir_number=number,
                fir_year=2026,
                sections=["PPC 376", "PPC 506"],
                fir_copy=_fir_copy(f"{number}/2026"),
                annexure=services.Annexure(
                    suspect_name=names[0],
                    suspect_father_name=names[1],
                    suspect_address="Street 4, Model Town, Lahore",
                    relation_to_case="accused named in the FIR",
                    justification="Previous convictions bear on the investigation and bail.",
                ),
                attested=True,
            )
        )
        summary.count("records_requests", True)
    with_npb, answered = made[1], made[2]
    for request in (with_npb, answered):
        services.records_request_forward(
            actor=prosecutor, request_id=request.pk, suspect_named_in_fir=True
        )
    candidates = services.records_request_search(actor=npb, request_id=answered.pk)
    services.records_request_answer(
        actor=npb,
        request_id=answered.pk,
        offender_id=candidates[0].offender.pk if candidates else None,
    )
    services.records_request_deliver(actor=prosecutor, request_id=answered.pk)
    return summary
