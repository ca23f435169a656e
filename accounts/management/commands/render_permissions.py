"""Write ``docs/permissions.md`` from ``accounts.roles`` (``--check`` only compares)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import render_markdown

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "permissions.md"


class Command(BaseCommand):
    help = "Render the role and permission table to docs/permissions.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=DEFAULT_PATH)
        parser.add_argument(
            "--check",
            action="store_true",
            help="fail if the file differs from the table instead of writing it",
        )

    def handle(self, *args: Any, output: Path, check: bool, **options: Any) -> None:
        rendered = render_markdown()
        if check:
            current = output.read_text(encoding="utf-8") if output.exists() else ""
            if current != rendered:
                raise CommandError(
                    f"{output} is out of date: run `python manage.py render_permissions`."
                )
            return
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(rendered, encoding="utf-8")
        self.stdout.write(f"Wrote {output}")
