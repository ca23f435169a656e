"""The records-request extract as a watermarked PDF (reportlab). No Django.

Every page carries, in its header, its footer and diagonally across the page, the requesting
officer, the request number and the time of download: a printed or forwarded copy names
whose copy it was. The SOP's advisory opens and closes the document. Names are printed in
Latin script only (the bundled fonts have no Urdu glyphs); Urdu names stay in the JSON extract.
"""

import io
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

_STYLES = getSampleStyleSheet()


def _text(value: Any) -> str:
    return escape("" if value is None else str(value))


def _rows(pairs: Iterable[tuple[str, Any]]) -> Table:
    data = [
        [
            Paragraph(f"<b>{_text(k)}</b>", _STYLES["BodyText"]),
            Paragraph(_text(v), _STYLES["BodyText"]),
        ]
        for k, v in pairs
    ]
    table = Table(data, colWidths=[45 * mm, 120 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def watermark_line(*, officer: str, request_number: str, downloaded_at: str) -> str:
    """The one line every page carries."""
    return f"Issued to {officer} | Request {request_number} | Downloaded {downloaded_at}"


def extract_pdf(
    *,
    extract: dict[str, Any],
    request_number: str,
    officer: str,
    downloaded_at: str,
    advisory: str,
) -> bytes:
    """The PDF bytes of one extract; ``extract`` is the JSON extract the API also serves."""
    mark = watermark_line(
        officer=officer, request_number=request_number, downloaded_at=downloaded_at
    )

    def _decorate(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        width, height = A4
        canvas.setFont("Helvetica", 8)
        canvas.drawString(15 * mm, height - 10 * mm, f"CONFIDENTIAL - {mark}")
        canvas.drawString(15 * mm, 8 * mm, f"{mark} | Page {doc.page}")
        canvas.setFillColor(colors.Color(0.6, 0.6, 0.6, alpha=0.25))
        canvas.setFont("Helvetica-Bold", 16)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(35)
        for offset in (-120, 0, 120):
            canvas.drawCentredString(0, offset, mark)
        canvas.restoreState()

    identity = extract.get("identity", {})
    address = extract.get("address") or {}
    compliance = extract.get("compliance", {})
    story: list[Any] = [
        Paragraph(f"Records request {request_number}: extract of the register", _STYLES["Title"]),
        Paragraph(f"<b>{_text(advisory)}</b>", _STYLES["BodyText"]),
        Spacer(1, 4 * mm),
        Paragraph("Identity", _STYLES["Heading2"]),
        _rows(
            [
                ("Name", identity.get("full_name")),
                ("Father's/husband's name", identity.get("father_name")),
                ("Aliases", ", ".join(identity.get("aliases") or []) or "-"),
                ("CNIC", identity.get("cnic")),
                ("Gender", identity.get("gender")),
                ("Date of birth", identity.get("date_of_birth") or "-"),
            ]
        ),
        Paragraph("Convictions", _STYLES["Heading2"]),
    ]
    convictions = extract.get("convictions") or []
    if not convictions:
        story.append(Paragraph("None recorded.", _STYLES["BodyText"]))
    for conviction in convictions:
        story += [
            _rows(
                [
                    ("FIR", f"{conviction.get('fir_number')} ({conviction.get('police_station')})"),
                    (
                        "Court / case",
                        f"{conviction.get('court')} / {conviction.get('case_number')}",
                    ),
                    ("Convicted on", conviction.get("conviction_date")),
                    ("Sections", ", ".join(conviction.get("sections") or [])),
                    ("Sentence", conviction.get("sentence")),
                ]
            ),
            Spacer(1, 2 * mm),
        ]
    story += [
        Paragraph("Last known address", _STYLES["Heading2"]),
        _rows(
            [
                ("Address", address.get("text") or "-"),
                (
                    "District / station",
                    f"{address.get('district') or '-'} / {address.get('station') or '-'}",
                ),
                ("Recorded since", address.get("recorded_at") or "-"),
                ("Last verified", address.get("last_verified_at") or "not verified in the field"),
            ]
        ),
        Paragraph("Compliance", _STYLES["Heading2"]),
        _rows(
            [
                ("Status", compliance.get("status")),
                ("Open violations", compliance.get("open_violations")),
                ("Next check-in due", compliance.get("next_checkin_due") or "-"),
                ("Next verification due", compliance.get("next_verification_due") or "-"),
            ]
        ),
        Spacer(1, 6 * mm),
        Paragraph(f"<b>{_text(advisory)}</b>", _STYLES["BodyText"]),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Records request {request_number}",
        author="Nigrani",
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    doc.build(story, onFirstPage=_decorate, onLaterPages=_decorate)
    return out.getvalue()
