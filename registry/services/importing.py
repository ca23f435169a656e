"""Importing the NPB's existing register from a CSV file (``manage.py import_register``).

The file format is documented in ``docs/import_register.md``: one row per offender, one
conviction per row, columns named like the create API's fields (``address_*`` for the address).

Rules decided here:

- **Every row is validated before anything is written**, each by the same
  ``offender_input_validate`` the create API uses (one place for every rule: CNIC, phone,
  sections, tiers, the address point against the district). A bad row is reported by its line
  in the file and the column at fault (``line 7: sections: …``); **messages never carry the
  values** (CNIC, names, phone): the report reaches terminals and logs.
- **Duplicates**: a CNIC already on the register is refused by the validation (blind index); a
  CNIC that appears on several lines of the file refuses *all* those lines, since the file does
  not say which of them is right.
- **All or nothing**: with any bad row nothing is imported. With ``skip_invalid`` the good rows
  are imported and the bad ones reported. The import itself is one transaction.
- **Audit**: ONE ``import`` event per run (counts, the file's SHA-256, the created offender ids
  as ranges), also for dry runs and refused files. Not one ``create`` event per offender: every
  audit event takes the global chain lock (``audit.services``) and is a serial hashed insert, so
  10,000 of them would hold that lock for seconds and stall every audited request in the
  system; the one event names exactly which records the file created and by whom, and each
  record's ``created_by``/``created_at`` point back to it. Dry runs are audited because a dry
  run answers "which of these CNICs are registered", which is a lookup of the register.
- **Speed**: rows are validated one by one by the shared validator, given a
  ``ValidationContext`` loaded once for the file (which of its CNICs are registered, the
  districts, the reporting policies), so a row costs one query (its address point) instead of
  one per lookup; the policies also give the due dates. Then the rows, built by the same
  ``offender_build`` and ``offender_records_build`` as ``offender_create``, are written table
  by table, one ``COPY`` each — offenders (ids reserved first; encrypted through the field, blind
  index from validation), addresses, supervision periods, convictions and the opening status
  changes — instead of ``offender_create`` per row, which would also write one audit event
  per row. ``COPY`` rather than ``bulk_create``: at 10,000 rows, compiling and binding the
  multi-row INSERTs took several times longer than the database took to store them.
"""

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from accounts.models import Officer
from audit.models import AuditAction
from audit.services import audit_record
from common.exceptions import Conflict, Forbidden
from registry import hooks
from registry.identifiers import cnic_blind_index, normalise_cnic
from registry.models import Offender, OffenderStatus
from registry.services.offenders import (
    OffenderInput,
    ValidationContext,
    offender_build,
    offender_input_validate,
    offender_records_build,
    validation_context_load,
)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "cnic",
    "full_name",
    "father_name",
    "gender",
    "risk_tier",
    "status",
    "address_text",
    "address_district",
    "fir_number",
    "police_station",
    "court",
    "case_number",
    "conviction_date",
    "sentence",
    "sections",
    "victim_minor",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "full_name_ur",
    "father_name_ur",
    "date_of_birth",
    "phone",
    "address_lat",
    "address_lon",
    "released_on",
    "release_prison",
    "aliases",
    "physical_description",
    "dna_profile_ref",
    "biometric_ref",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_IDENTITY_COLUMNS = (
    "cnic",
    "full_name",
    "father_name",
    "full_name_ur",
    "father_name_ur",
    "gender",
    "date_of_birth",
    "phone",
    "risk_tier",
    "status",
    "released_on",
    "release_prison",
    "physical_description",
    "dna_profile_ref",
    "biometric_ref",
)
_CONVICTION_COLUMNS = (
    "fir_number",
    "police_station",
    "court",
    "case_number",
    "conviction_date",
    "sentence",
)
# Protected values, scrubbed from any message should one ever echo them (defence in depth:
# the validators promise not to).
_PROTECTED_COLUMNS = ("cnic", "phone", "full_name", "father_name", "full_name_ur", "father_name_ur")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True)
class ImportRow:
    """One offender of the file: its first line in the file and the create-API-shaped data."""

    line: int
    data: dict[str, Any]
    protected: tuple[str, ...] = ()  # the raw protected cells, for scrubbing messages


@dataclass
class RowProblem:
    line: int
    messages: list[str]  # "column: message"


@dataclass
class ImportReport:
    rows: int
    valid: int
    imported: int = 0
    dry_run: bool = False
    skip_invalid: bool = False
    problems: list[RowProblem] = field(default_factory=list)
    offender_ids: list[int] = field(default_factory=list)
    source_sha256: str = ""

    @property
    def invalid(self) -> int:
        return self.rows - self.valid

    @property
    def refused(self) -> bool:
        """Nothing imported because of bad rows (all-or-nothing without ``skip_invalid``)."""
        return bool(self.problems) and not self.skip_invalid

    def problem_lines(self) -> list[str]:
        return [f"line {p.line}: {message}" for p in self.problems for message in p.messages]


# --- reading the file ----------------------------------------------------------------------


def register_csv_parse(content: bytes) -> tuple[list[ImportRow], str]:
    """The rows of a register CSV file and the file's SHA-256.

    Raises ``ValidationError`` for a file that cannot be read at all (encoding, header);
    problems of single rows are left to ``register_import``, which reports them by line."""
    sha256 = hashlib.sha256(content).hexdigest()
    try:
        text = content.decode("utf-8-sig")  # Excel writes a BOM before UTF-8
    except UnicodeDecodeError:
        raise ValidationError({"file": ["The file must be UTF-8 text."]}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    errors: list[str] = []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing:
        errors.append(f"Missing columns: {', '.join(missing)}.")
    if unknown:
        errors.append(f"Unknown columns: {', '.join(unknown)} (see docs/import_register.md).")
    if repeated:
        errors.append(f"Repeated columns: {', '.join(repeated)}.")
    if errors:
        raise ValidationError({"header": errors})
    reader.fieldnames = header

    rows: list[ImportRow] = []
    next_line = reader.line_num + 1
    for record in reader:
        line, next_line = next_line, reader.line_num + 1  # a quoted cell may span lines
        cells = {name: (value or "").strip() for name, value in record.items() if name}
        data = register_row_data(cells)
        if None in record:
            data["_extra_cells"] = True
        rows.append(
            ImportRow(
                line=line,
                data=data,
                protected=tuple(cells[c] for c in _PROTECTED_COLUMNS if cells.get(c)),
            )
        )
    return rows, sha256


def _bool_cell(value: str) -> bool | str | None:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return value or None  # left for the validator to refuse


def _list_cell(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def register_row_data(cells: dict[str, str]) -> dict[str, Any]:
    """One CSV row (column → cell) in the create API's shape; values stay strings where the
    validator parses them (dates, numbers), so its messages are the API's messages."""
    data: dict[str, Any] = {name: cells.get(name, "") for name in _IDENTITY_COLUMNS}
    data["aliases"] = _list_cell(cells.get("aliases", ""))
    data["address"] = {
        "text": cells.get("address_text", ""),
        "district": cells.get("address_district", ""),
        "lat": cells.get("address_lat", ""),
        "lon": cells.get("address_lon", ""),
    }
    conviction: dict[str, Any] = {name: cells.get(name, "") for name in _CONVICTION_COLUMNS}
    conviction["sections"] = _list_cell(cells.get("sections", ""))
    conviction["victim_minor"] = _bool_cell(cells.get("victim_minor", ""))
    data["convictions"] = [conviction]
    return data


def _column(key: str) -> str:
    """The validator's field key as the file's column: ``address.lat`` → ``address_lat``,
    ``convictions[0].sections`` → ``sections``."""
    if key.startswith("convictions[0]."):
        return key.removeprefix("convictions[0].")
    if key == "convictions":
        return "sections"
    return key.replace("address.", "address_", 1)


def _scrub(message: str, protected: Iterable[str]) -> str:
    for value in protected:
        if len(value) >= 3:
            message = message.replace(value, "***")
    return message


# --- the import ----------------------------------------------------------------------------


def _cnic_indexes(rows: Sequence[ImportRow]) -> dict[int, str]:
    """The blind index of each well-formed row's CNIC, by row position (the validator reports
    the malformed ones)."""
    indexes: dict[int, str] = {}
    for position, row in enumerate(rows):
        if row.data.get("_extra_cells"):
            continue
        try:
            indexes[position] = cnic_blind_index(normalise_cnic(str(row.data.get("cnic") or "")))
        except ValidationError:
            continue
    return indexes


def _validate(
    rows: Sequence[ImportRow], *, indexes: dict[int, str], context: ValidationContext
) -> tuple[dict[int, OffenderInput], list[RowProblem]]:
    """Validated entries by row position, and the problems of every other row."""
    entries: dict[int, OffenderInput] = {}
    messages: dict[int, list[str]] = defaultdict(list)
    for position, row in enumerate(rows):
        if row.data.get("_extra_cells"):
            messages[position].append("row: more cells than the header has columns")
            continue
        try:
            entry = offender_input_validate(data=row.data, context=context)
        except ValidationError as exc:
            for key, key_messages in exc.message_dict.items():
                messages[position] += [
                    f"{_column(key)}: {_scrub(m, row.protected)}" for m in key_messages
                ]
        else:
            entries[position] = entry
    # Duplicates within the file, also among rows that failed for another reason.
    by_index: dict[str, list[int]] = defaultdict(list)
    for position, index in indexes.items():
        by_index[index].append(position)
    for positions in by_index.values():
        if len(positions) < 2:
            continue
        lines = ", ".join(str(rows[p].line) for p in positions)
        for position in positions:
            messages[position].append(f"cnic: the same CNIC is on lines {lines} of the file")
            entries.pop(position, None)
    problems = [RowProblem(line=rows[p].line, messages=messages[p]) for p in sorted(messages)]
    return entries, problems


def _id_ranges(ids: Sequence[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` → ``[[1, 3], [7, 7]]``: the created ids, compactly, for the audit."""
    ranges: list[list[int]] = []
    for pk in sorted(ids):
        if ranges and pk == ranges[-1][1] + 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])
    return ranges


def _reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys from the model's id sequence, ascending, for ``_copy_insert``."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(model._meta.db_table), model._meta.pk.column, count],
        )
        return sorted(pk for (pk,) in cursor.fetchall())


def _copy_insert(objs: Sequence[models.Model], *, with_pk: bool = False) -> None:
    """Insert unsaved instances of one model with one ``COPY``, writing what ``bulk_create``
    would: each field's ``pre_save`` (timestamps) and ``get_db_prep_save`` (encryption,
    arrays) value. The primary key is written only ``with_pk`` (set from ``_reserve_ids``),
    else the database assigns it and the instances are not told. Database errors are Django's
    (``IntegrityError`` for a unique violation)."""
    if not objs:
        return
    model = type(objs[0])
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    if any(f.db_default is not models.NOT_PROVIDED for f in fields):
        model._default_manager.bulk_create(objs, batch_size=1000)  # defaults computed by SQL
        return
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        "FROM STDIN"
    )
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _write(
    *, actor: Officer, entries: Sequence[OffenderInput], context: ValidationContext
) -> list[Offender]:
    """Bulk-write the validated entries as ``offender_create`` writes one (same fields, same
    related rows, same hook), without its per-row audit event. The dues come from the
    policies the rows were validated against (their tiers are among them)."""
    now = timezone.now()
    offenders = [
        offender_build(
            entry=entry, actor=actor, now=now, policy=context.policies_by_tier[entry.risk_tier]
        )
        for entry in entries
    ]
    for offender, pk in zip(offenders, _reserve_ids(Offender, len(offenders)), strict=True):
        offender.pk = pk
    try:
        with transaction.atomic():
            _copy_insert(offenders, with_pk=True)
    except IntegrityError as exc:
        if "cnic_index" in str(exc):
            # Registered by someone else between validation and writing.
            raise Conflict(
                "A CNIC of the file was registered while the import ran; nothing was "
                "imported. Run the import again to see which line.",
                code="already_registered",
            ) from None
        raise
    records = [
        offender_records_build(
            offender=offender, entry=entry, actor=actor, now=now, note="import_register"
        )
        for offender, entry in zip(offenders, entries, strict=True)
    ]
    # Table by table, in the order of their foreign keys.
    _copy_insert([r.address for r in records])
    _copy_insert([r.supervision for r in records])
    _copy_insert([conviction for r in records for conviction in r.convictions])
    _copy_insert([r.status_change for r in records])
    return offenders


def register_import(
    *,
    actor: Officer,
    rows: Sequence[ImportRow],
    skip_invalid: bool = False,
    dry_run: bool = False,
    source_sha256: str = "",
) -> ImportReport:
    """Validate every row, then import all of them (or, with ``skip_invalid``, the good ones)
    in one transaction, or nothing (module docstring). Needs ``offender.import``."""
    if not actor.has_permission("offender.import"):
        raise Forbidden("You may not import the register.")
    indexes = _cnic_indexes(rows)
    context = validation_context_load(cnic_indexes=indexes.values())
    entries, problems = _validate(rows, indexes=indexes, context=context)
    report = ImportReport(
        rows=len(rows),
        valid=len(entries),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        problems=problems,
        source_sha256=source_sha256,
    )
    importing = not dry_run and not report.refused and bool(entries)
    with transaction.atomic():
        if importing:
            ordered = [entries[position] for position in sorted(entries)]
            offenders = _write(actor=actor, entries=ordered, context=context)
            report.offender_ids = [offender.pk for offender in offenders]
            report.imported = len(offenders)
            # The apps above start reporting for offenders imported as already released
            # (as ``offender_create`` does). Before the audit event, so the chain lock it takes
            # is not held while they run.
            for offender in offenders:
                if offender.status == OffenderStatus.ACTIVE:
                    hooks.call("offender_released", offender=offender, actor=actor)
        if report.refused:
            outcome = "refused"
        elif dry_run:
            outcome = "dry_run"
        else:
            outcome = "ok"
        audit_record(
            actor=actor,
            action=AuditAction.IMPORT,
            object_type="offender",
            outcome=outcome,
            details={
                "source_sha256": source_sha256,
                "rows": report.rows,
                "valid": report.valid,
                "invalid": report.invalid,
                "imported": report.imported,
                "dry_run": dry_run,
                "skip_invalid": skip_invalid,
                "invalid_lines": [p.line for p in problems][:1000],
                "offender_ids": _id_ranges(report.offender_ids),
            },
        )
    return report
