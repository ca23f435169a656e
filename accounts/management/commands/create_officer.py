"""Create an officer with a password (asked for, never taken on the command line)."""

import getpass
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Model

from accounts.models import Agency, Officer
from accounts.roles import Role
from accounts.services import officer_assignment_errors, officer_create
from jurisdictions.models import Beat, District, PoliceStation


def _by_code(model: type[Model], label: str, code: str | None) -> Any:
    """The jurisdiction with that code; None when no code was given. Codes are not secret, so
    an unknown one is named."""
    if not code:
        return None
    found = model._default_manager.filter(code=code).first()
    if found is None:
        raise CommandError(f"No such {label}: {code}")
    return found


class Command(BaseCommand):
    help = (
        "Create an officer. The password is read from the terminal (or NIGRANI_NEW_PASSWORD "
        "for scripts); the officer enrols an authenticator at the first sign-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--full-name", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--agency", required=True, help="agency name")
        parser.add_argument("--district", help="district code")
        parser.add_argument("--station", help="police station code")
        parser.add_argument("--beat", help="beat code")
        parser.add_argument("--rank", default="")
        parser.add_argument("--badge-number", default="")
        parser.add_argument("--staff", action="store_true", help="may use the admin site")

    def handle(self, *args: Any, **options: Any) -> None:
        if Officer.objects.filter(username=options["username"]).exists():
            raise CommandError("That username is taken.")
        agency = Agency.objects.filter(name=options["agency"]).first()
        if agency is None:
            raise CommandError("No such agency.")
        beat = _by_code(Beat, "beat", options["beat"])
        station = _by_code(PoliceStation, "station", options["station"]) or (
            beat.station if beat else None
        )
        district = _by_code(District, "district", options["district"]) or (
            station.district if station else None
        )
        errors = officer_assignment_errors(
            role=options["role"], agency=agency, district=district, station=station, beat=beat
        )
        if errors:
            raise CommandError(" ".join(m for messages in errors.values() for m in messages))
        password = os.environ.get("NIGRANI_NEW_PASSWORD") or getpass.getpass("Password: ")
        officer = Officer(
            username=options["username"],
            full_name=options["full_name"],
            role=options["role"],
            agency=agency,
            rank=options["rank"],
            badge_number=options["badge_number"],
            district=district,
            station=station,
            beat=beat,
            province=district.province if district else agency.province,
            is_staff=options["staff"],
        )
        try:
            validate_password(password, officer)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        officer.set_password(password)
        officer_create(actor=None, officer=officer, via="create_officer")
        self.stdout.write(f"Created {officer.username} ({officer.role}).")
