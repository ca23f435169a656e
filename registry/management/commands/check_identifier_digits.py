"""Find offender records whose CNIC or phone was stored before the digit fix in a non-canonical
form (Urdu or other non-ASCII digits): such a record's blind index differs from the one the
same CNIC gets today, so the person could be registered twice and an exact lookup misses them.

Report only, by record id and field; values are never printed (the output may reach a log or
a ticket). Exit status 1 with ``--strict`` when anything is found, for a scheduled check.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.identifiers import cnic_blind_index, normalise_cnic, normalise_phone
from registry.models import Offender


def _canonical(value: str, normalise: Any) -> str | None:
    try:
        return normalise(value)
    except ValidationError:
        return None


class Command(BaseCommand):
    help = "Report offender records with CNIC or phone stored in a non-ASCII/non-canonical form."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--strict", action="store_true", help="exit 1 when any is found")

    def handle(self, *args: Any, strict: bool = False, **options: Any) -> None:
        found = 0
        checked = 0
        rows = Offender.objects.only("pk", "cnic", "cnic_index", "phone").order_by("pk")
        for offender in rows.iterator(chunk_size=500):
            checked += 1
            cnic = _canonical(offender.cnic, normalise_cnic)
            if offender.cnic != cnic:
                found += 1
                line = f"offender #{offender.pk}: cnic stored in a non-canonical form"
                if cnic is None:
                    line += " (not a valid CNIC even after folding digits)"
                else:
                    twin = (
                        Offender.objects.filter(cnic_index=cnic_blind_index(cnic))
                        .exclude(pk=offender.pk)
                        .values_list("pk", flat=True)
                        .first()
                    )
                    if twin is not None:
                        line += f"; the same CNIC is also registered as offender #{twin}"
                self.stdout.write(line)
            if offender.phone and offender.phone != _canonical(offender.phone, normalise_phone):
                found += 1
                self.stdout.write(f"offender #{offender.pk}: phone stored in a non-canonical form")
        self.stdout.write(f"{checked} record(s) checked, {found} finding(s).")
        if found and strict:
            raise CommandError(f"{found} identifier(s) stored in a non-canonical form")
