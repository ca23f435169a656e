"""``import_register``: every row validated first, all or nothing, reported by line and column
without the values, audited once."""

import csv
import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden
from registry.models import Address, Conviction, Offender, StatusChange, SupervisionPeriod
from registry.services.importing import register_csv_parse, register_import, register_row_data
from registry.services.offenders import offender_create

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "register_sample.csv"
SAMPLE_ROWS = 8


def _sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_csv(tmp_path: Path, rows: list[dict[str, str]], name: str = "register.csv") -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _import(path: Path, *args: str, actor: str = "registry-admin") -> str:
    out = io.StringIO()
    try:
        call_command("import_register", str(path), "--actor", actor, *args, stdout=out)
    except CommandError as exc:
        raise _Failed(out.getvalue(), str(exc)) from exc
    return out.getvalue()


class _Failed(Exception):
    def __init__(self, output: str, error: str) -> None:
        super().__init__(error)
        self.output, self.error = output, error


def _protected_values(rows: list[dict[str, str]]) -> list[str]:
    return [
        row[column]
        for row in rows
        for column in ("cnic", "phone", "full_name", "father_name", "full_name_ur")
        if row[column]
    ]


def _last_import_event() -> AuditEvent:
    return AuditEvent.objects.filter(action="import").order_by("-id").first()


def test_the_sample_file_imports_cleanly(world, registry_admin):
    output = _import(SAMPLE)

    assert f"Imported {SAMPLE_ROWS} offenders." in output
    assert Offender.objects.count() == SAMPLE_ROWS
    assert Conviction.objects.count() == SAMPLE_ROWS
    assert Address.objects.filter(valid_to__isnull=True).count() == SAMPLE_ROWS
    assert SupervisionPeriod.objects.filter(ended_at__isnull=True).count() == SAMPLE_ROWS
    assert StatusChange.objects.filter(reason="registered").count() == SAMPLE_ROWS

    asif = Offender.objects.get(full_name="Muhammad Asif")
    assert asif.cnic == "35202-9000001-3"
    assert asif.phone == "+923004567123"  # normalised by the shared validator
    assert asif.created_by == registry_admin
    assert asif.status == "active"
    assert asif.next_checkin_due is not None  # dues from the tier's policy
    assert (asif.district, asif.station, asif.beat) == (
        world.lahore,
        world.lahore_a,
        world.lahore_a_2,
    )
    assert asif.convictions.get().sections == ["PPC 376", "PPC 377"]
    rashid = Offender.objects.get(full_name="Rashid Ali")
    assert (rashid.district, rashid.station) == (world.kasur, None)  # no point: district only
    in_custody = Offender.objects.get(full_name="Shahid Mehmood")
    assert in_custody.next_checkin_due is None

    event = _last_import_event()
    assert event.actor_id == registry_admin.pk
    assert event.outcome == "ok"
    assert event.details["source_sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert event.details["imported"] == SAMPLE_ROWS
    ids = sorted(Offender.objects.values_list("id", flat=True))
    assert event.details["offender_ids"] == [[ids[0], ids[-1]]]
    assert not any(value in str(event.details) for value in _protected_values(_sample_rows()))


def test_one_bad_row_imports_nothing_and_is_reported_by_line_and_column(
    world, registry_admin, tmp_path
):
    rows = _sample_rows()
    rows[3]["sections"] = "PPC 302"  # murder: not a scheduled offence
    rows[5]["address_lat"] = "north"
    path = _write_csv(tmp_path, rows)

    with pytest.raises(_Failed) as failed:
        _import(path)

    assert "Nothing imported: 2 invalid rows" in failed.value.error
    report = failed.value.output
    assert "line 5: sections: [0] Not a scheduled offence" in report
    assert "line 7: address_lat: A number is expected." in report
    assert Offender.objects.count() == 0
    assert _last_import_event().outcome == "refused"
    assert _last_import_event().details["invalid_lines"] == [5, 7]


def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(world, registry_admin, tmp_path):
    rows = _sample_rows()
    rows[0]["cnic"] = "35202-90000-013"  # dashes in the wrong places
    rows[1]["victim_minor"] = "maybe"
    path = _write_csv(tmp_path, rows)

    with pytest.raises(_Failed) as failed:  # non-zero exit: not everything is on the register
        _import(path, "--skip-invalid")

    assert "2 invalid rows were not imported" in failed.value.error
    assert f"Imported {SAMPLE_ROWS - 2} offenders." in failed.value.output
    assert "line 2: cnic: A CNIC is 13 digits" in failed.value.output
    assert "line 3: victim_minor: true or false is required." in failed.value.output
    assert Offender.objects.count() == SAMPLE_ROWS - 2
    assert not Offender.objects.filter(full_name__in=["Muhammad Asif", "Naveed Akhtar"]).exists()


def test_dry_run_imports_nothing(world, registry_admin):
    output = _import(SAMPLE, "--dry-run")

    assert f"Dry run: {SAMPLE_ROWS} rows would be imported" in output
    assert Offender.objects.count() == 0
    event = _last_import_event()
    assert (event.outcome, event.details["dry_run"]) == ("dry_run", True)


def test_a_cnic_twice_in_the_file_refuses_both_lines(world, registry_admin, tmp_path):
    rows = _sample_rows()
    rows[6]["cnic"] = rows[2]["cnic"].replace("-", "")  # the same number, written differently
    path = _write_csv(tmp_path, rows)

    with pytest.raises(_Failed) as failed:
        _import(path, "--skip-invalid")

    report = failed.value.output
    assert "line 4: cnic: the same CNIC is on lines 4, 8 of the file" in report
    assert "line 8: cnic: the same CNIC is on lines 4, 8 of the file" in report
    assert Offender.objects.count() == SAMPLE_ROWS - 2


def test_a_cnic_already_on_the_register_is_refused(world, registry_admin, tmp_path):
    _import(SAMPLE)
    rows = _sample_rows()
    fresh = dict(rows[0], cnic="35202-9000999-1")
    path = _write_csv(tmp_path, [rows[0], fresh])

    with pytest.raises(_Failed) as failed:
        _import(path)

    assert "line 2: cnic: already registered" in failed.value.output
    assert "line 3" not in failed.value.output
    assert Offender.objects.count() == SAMPLE_ROWS


def test_the_report_never_contains_the_protected_values(world, registry_admin, tmp_path):
    rows = _sample_rows()
    for row in rows:
        row["phone"] = row["phone"] or "0300-1234567"
        row["gender"] = "unknown"  # every row fails
    rows[1]["cnic"] = rows[0]["cnic"]
    rows[2]["phone"] = "12345"
    path = _write_csv(tmp_path, rows)

    with pytest.raises(_Failed) as failed:
        _import(path)

    everything = failed.value.output + failed.value.error
    assert "phone: A Pakistani mobile number is expected" in everything
    for value in _protected_values(rows) + ["12345"]:
        assert value not in everything
    assert not any(value in str(_last_import_event().details) for value in _protected_values(rows))


def test_bad_header_is_refused_before_any_row(world, registry_admin, tmp_path):
    rows = [
        {("cnic_number" if k == "cnic" else k): v for k, v in row.items()} for row in _sample_rows()
    ]
    path = _write_csv(tmp_path, rows)

    with pytest.raises(_Failed) as failed:
        _import(path)

    assert "Missing columns: cnic" in failed.value.error
    assert "Unknown columns: cnic_number" in failed.value.error


def test_only_officers_with_offender_import_may_import(world, data_entry):
    with pytest.raises(_Failed) as failed:
        _import(SAMPLE, actor=data_entry.username)
    assert "may not import" in failed.value.error

    rows, _sha = register_csv_parse(SAMPLE.read_bytes())
    with pytest.raises(Forbidden):
        register_import(actor=data_entry, rows=rows)
    assert Offender.objects.count() == 0


def test_a_quoted_cell_spanning_lines_keeps_line_numbers_right(world, registry_admin, tmp_path):
    rows = _sample_rows()
    rows[0]["address_text"] = "House 14, Street 3\nIchhra Bazaar, Lahore"
    rows[2]["risk_tier"] = "9"
    path = _write_csv(tmp_path, rows)

    with pytest.raises(_Failed) as failed:
        _import(path)

    # Row 1 spans lines 2–3, so the third row starts on line 5.
    assert "line 5: risk_tier: One of the configured tiers" in failed.value.output


def _fields(obj, *, leave_out: tuple[str, ...] = ()) -> dict:
    skip = {"id", "created_at", "updated_at", "offender", *leave_out}
    return {
        f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.name not in skip
    }


def test_an_imported_record_is_what_the_create_service_writes(world, registry_admin, tmp_path):
    rows = _sample_rows()
    row = dict(rows[0], aliases="Asif Butt; Chhota Asif", dna_profile_ref="DNA-77")
    _import(_write_csv(tmp_path, [row]))
    imported = Offender.objects.get()
    created = offender_create(
        actor=registry_admin, data=register_row_data(dict(row, cnic="35202-9000999-1"))
    )
    created.refresh_from_db()

    assert imported.aliases == ["Asif Butt", "Chhota Asif"]
    assert imported.dna_profile_ref == "DNA-77"  # decrypts: written through the field
    assert imported.created_at is not None
    leave_out = ("cnic", "cnic_index", "status_changed_at", "valid_from", "started_at")
    assert _fields(imported, leave_out=leave_out) == _fields(created, leave_out=leave_out)
    for related in ("addresses", "supervision_periods", "convictions"):
        assert [_fields(o, leave_out=leave_out) for o in getattr(imported, related).all()] == [
            _fields(o, leave_out=leave_out) for o in getattr(created, related).all()
        ]
    assert (imported.status_changes.get().to_status, imported.status_changes.get().reason) == (
        created.status_changes.get().to_status,
        created.status_changes.get().reason,
    )


def _queries_of_import(registry_admin, rows: list[dict[str, str]], *, dry_run: bool) -> int:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    parsed, _sha = register_csv_parse(buffer.getvalue().encode())
    with CaptureQueriesContext(connection) as queries:
        report = register_import(actor=registry_admin, rows=parsed, dry_run=dry_run)
    assert not report.problems
    return len(queries)


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_queries_of_an_import_grow_only_with_the_points_to_resolve(
    world, registry_admin, dry_run
):
    # In custody: no release hooks, whose handlers (apps above the register) may query.
    rows = [
        dict(row, status="in_custody", released_on="", release_prison="") for row in _sample_rows()
    ]
    _queries_of_import(registry_admin, rows, dry_run=True)  # geometries now cached

    def renumbered(rows: list[dict[str, str]], area: str) -> list[dict[str, str]]:
        return [dict(row, cnic=area + row["cnic"][5:]) for row in rows]

    half = _queries_of_import(registry_admin, renumbered(rows[:4], "35401"), dry_run=dry_run)
    whole = _queries_of_import(registry_admin, renumbered(rows, "35402"), dry_run=dry_run)

    points = sum(1 for row in rows[4:] if row["address_lat"])
    assert whole - half == points  # one query per point (its jurisdiction), none per row


def test_a_cnic_registered_while_the_import_ran_imports_nothing(world, registry_admin, monkeypatch):
    _import(SAMPLE)
    rows, _sha = register_csv_parse(SAMPLE.read_bytes())
    # Validation saw the register before the other registration landed.
    monkeypatch.setattr(
        "registry.services.offenders._cnic_registered", lambda *args, **kwargs: False
    )

    with pytest.raises(Conflict) as caught:
        register_import(actor=registry_admin, rows=rows)

    assert caught.value.code == "already_registered"
    assert Offender.objects.count() == SAMPLE_ROWS
    assert Address.objects.count() == SAMPLE_ROWS
