"""``manage.py import_zones FILE.geojson --kind exclusion --category school [--buffer-m 100]``.

Thin: reads the FeatureCollection, calls ``geofence.services.importing``, draws a progress bar
on stderr and prints the bad-feature report (index, reason). Exits non-zero when any feature
was bad (the good ones are imported all the same).
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Officer
from geofence.models import Applicability, ZoneKind
from geofence.services.importing import zones_import


class Command(BaseCommand):
    help = "Import a zone layer (schools, playgrounds…) from a GeoJSON FeatureCollection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--kind", required=True, choices=ZoneKind.values)
        parser.add_argument("--category", required=True, help="e.g. school, playground")
        parser.add_argument("--buffer-m", type=float, default=0.0, help="buffer in metres")
        parser.add_argument(
            "--radius-m",
            type=float,
            default=None,
            help="radius of Point features without a radius_m property",
        )
        parser.add_argument(
            "--applies-to",
            default=Applicability.ALL,
            choices=[Applicability.ALL, Applicability.VICTIM_MINOR],
            help="all, or victim_minor for the program-wide school layer",
        )
        parser.add_argument("--actor", default=None, help="username recorded in the audit trail")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = None
        if options["actor"]:
            actor = Officer.objects.filter(username=options["actor"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active officer {options['actor']!r}.")
        try:
            collection = json.loads(options["file"].read_bytes())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        features = collection.get("features") if isinstance(collection, dict) else None
        if not isinstance(features, list):
            raise CommandError("Not a GeoJSON FeatureCollection.")
        total = len(features)
        started = time.monotonic()
        show = not options["no_progress"]

        def progress(done: int) -> None:
            if show and (done % 1000 == 0 or done == total):
                filled = int(40 * done / total)
                sys.stderr.write(f"\r[{'#' * filled}{'.' * (40 - filled)}] {done}/{total}")
                sys.stderr.flush()

        report = zones_import(
            features,
            kind=options["kind"],
            category=options["category"],
            buffer_m=options["buffer_m"],
            radius_m=options["radius_m"],
            applies_to=options["applies_to"],
            actor=actor,
            progress=progress,
        )
        if show:
            sys.stderr.write("\n")
        seconds = time.monotonic() - started
        for index, reason in report.bad:
            self.stdout.write(f"feature {index}: {reason}")
        self.stdout.write(
            f"{report.features} features, {report.imported} imported, {len(report.bad)} bad "
            f"in {seconds:.1f} s ({report.features / max(seconds, 1e-9):,.0f} features/s)"
        )
        if report.bad:
            raise CommandError(f"{len(report.bad)} bad features (listed above) not imported.")
