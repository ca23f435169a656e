"""``manage.py seed_demo [--json]``: build the demo world (development only)."""

import json
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.module_loading import import_string

from jurisdictions.demo import SeedSummary

# The seeding steps, run in this order in one transaction. Each is a callable taking no
# arguments that is idempotent (finds before it creates) and returns a
# ``jurisdictions.demo.SeedSummary``. Dotted paths rather than imports because later steps
# live in apps above this one (imports point down ARCHITECTURE.md's table); add new steps at
# the end, e.g. "registry.demo.seed_offenders", once the world they need exists.
SEEDERS: list[str] = [
    "accounts.demo.seed_world",
    "registry.demo.seed_offenders",
    "push.demo.seed_demo_push",
    "mobile_api.demo.seed_demo_mobile_api",
    "checkins.demo.seed_demo_checkins",
    "disclosures.demo.seed_demo_disclosures",
    "geofence.demo.seed_demo_geofence",
    "liaison.demo.seed_demo_liaison",
    "compliance.demo.seed_demo_alerts",
]


class Command(BaseCommand):
    help = "Create the demo world and one officer per role. Refuses unless NIGRANI_DEV is on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print only the demo logins as a JSON list (username, role, password, "
            "totp_secret, jurisdiction).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEV_MODE:
            # Known passwords and printed TOTP secrets must never reach a real deployment.
            raise CommandError("seed_demo only runs with NIGRANI_DEV=1 (development mode).")
        with transaction.atomic():
            summaries: list[SeedSummary] = [import_string(path)() for path in SEEDERS]
        logins = [login for summary in summaries for login in summary.logins]

        if options["json"]:
            self.stdout.write(json.dumps([asdict(login) for login in logins], indent=2))
            return
        for summary in summaries:
            counts = ", ".join(f"{n} {kind}" for kind, n in summary.created.items())
            self.stdout.write(f"{summary.name}: created {counts}")
        self.stdout.write(f"\nDemo logins (password {settings.DEMO_PASSWORD!r}):")
        for login in logins:
            self.stdout.write(
                f"  {login.username:<28} {login.role:<22} {login.jurisdiction:<32} "
                f"TOTP secret {login.totp_secret}"
            )
