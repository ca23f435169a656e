"""``import_register`` throughput: 10,000 generated rows from a CSV file into the register.

``run()`` is called by the bench harness inside a migrated, configured Django; it seeds the
demo world itself (idempotent; the acting registry admin comes from it). The import runs in a
transaction that is rolled back at the end, so the database is left as it was found.
"""

import csv
import tempfile
import time
from pathlib import Path

from django.db import transaction

from accounts.demo import seed_world
from accounts.models import Officer
from jurisdictions.resolve import jurisdiction_resolve
from registry.demo import demo_register_rows
from registry.services.importing import COLUMNS, register_csv_parse, register_import

ROWS = 10_000
SEED = 20240301
# An area of issue the demo seeders never use, so no generated CNIC is already registered.
BENCH_AREA = "61101"


class _RollBack(Exception):
    pass


def _write_csv(path: Path) -> None:
    rows = demo_register_rows(ROWS, seed=SEED)
    for row in rows:
        row["cnic"] = BENCH_AREA + row["cnic"][5:]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[c for c in COLUMNS if c in rows[0]])
        writer.writeheader()
        writer.writerows(rows)


def _timed_import(content: bytes, actor: Officer, *, dry_run: bool) -> tuple[float, int]:
    started = time.perf_counter()
    imported = 0
    try:
        with transaction.atomic():
            rows, sha256 = register_csv_parse(content)
            report = register_import(actor=actor, rows=rows, dry_run=dry_run, source_sha256=sha256)
            assert not report.problems, report.problem_lines()[:5]
            imported = report.imported
            elapsed = time.perf_counter() - started
            raise _RollBack
    except _RollBack:
        pass
    return elapsed, imported


def run() -> list[tuple[str, float, str, str]]:
    seed_world()
    actor = Officer.objects.get(username="demo-registry-admin")
    jurisdiction_resolve(lon=74.3, lat=31.5)  # warm the geometry cache, as a server would be
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "register.csv"
        _write_csv(path)
        content = path.read_bytes()

    validate_s, _ = _timed_import(content, actor, dry_run=True)
    import_s, imported = _timed_import(content, actor, dry_run=False)
    assert imported == ROWS
    return [
        (
            "import_register",
            round(ROWS / import_s, 1),
            "rows/s",
            f"{ROWS:,} generated rows: parse, validate every row, write (COPY) offenders, "
            f"addresses, supervision, convictions, status changes ({import_s:.1f} s; rolled back)",
        ),
        (
            "import_register_validate",
            round(ROWS / validate_s, 1),
            "rows/s",
            f"the same file with --dry-run: parse and validation only ({validate_s:.1f} s)",
        ),
    ]
