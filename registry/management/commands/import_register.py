"""``manage.py import_register FILE.csv --actor USERNAME [--dry-run] [--skip-invalid]``.

Thin: reads the file, calls ``registry.services.importing``, prints the report. The format is
in ``docs/import_register.md``. Exits non-zero when anything was refused.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Officer
from common.exceptions import ApplicationError
from registry.services.importing import register_csv_parse, register_import


class Command(BaseCommand):
    help = (
        "Import existing register records from a CSV file (docs/import_register.md). Every row "
        "is validated first; nothing is imported unless all rows are good, or only the good "
        "ones with --skip-invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file (UTF-8)")
        parser.add_argument(
            "--actor",
            required=True,
            help="username of the registry admin doing the import (needs offender.import); "
            "recorded as the creator and in the audit trail",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report, import nothing"
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the good rows and report the bad ones (default: all or nothing)",
        )

    def handle(
        self, *args: Any, file: Path, actor: str, dry_run: bool, skip_invalid: bool, **options: Any
    ) -> None:
        officer = Officer.objects.filter(username=actor, is_active=True).first()
        if officer is None:
            raise CommandError(f"No active officer with username {actor!r}.")
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            rows, sha256 = register_csv_parse(content)
            report = register_import(
                actor=officer,
                rows=rows,
                skip_invalid=skip_invalid,
                dry_run=dry_run,
                source_sha256=sha256,
            )
        except ValidationError as exc:
            messages = [f"{key}: {m}" for key, ms in exc.message_dict.items() for m in ms]
            raise CommandError("; ".join(messages)) from None
        except ApplicationError as exc:
            raise CommandError(exc.message) from None

        for line in report.problem_lines():
            self.stdout.write(line)
        self.stdout.write(
            f"{report.rows} rows, {report.valid} valid, {report.invalid} invalid; sha256 {sha256}"
        )
        if report.refused:
            raise CommandError(
                f"Nothing imported: {report.invalid} invalid rows (fix them, or use "
                "--skip-invalid to import the others)."
            )
        if dry_run:
            self.stdout.write(f"Dry run: {report.valid} rows would be imported, nothing written.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported {report.imported} offenders."))
        if report.invalid:
            raise CommandError(f"{report.invalid} invalid rows were not imported.")
