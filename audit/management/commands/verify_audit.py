"""Verify the whole audit trail: old chain, seals, events and the signed checkpoints."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.management.commands.audit_sealer import audit_keys_required
from audit.verification import audit_trail_verify


class Command(BaseCommand):
    help = (
        "Verify the audit trail (old hash chain, keyed seals, every event, signed checkpoints);"
        " exits non-zero naming every problem found."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=5000,
            help="rows fetched per round trip from the server-side cursors",
        )

    def handle(self, *args: Any, chunk_size: int, **options: Any) -> None:
        audit_keys_required("verify_audit")
        report = audit_trail_verify(chunk_size=chunk_size)
        summary = (
            f"{report.events} events ({report.legacy_events} in the old chain, "
            f"{report.sealed_events} in newer seals, {report.unsealed_events} not yet sealed); "
            f"{report.seals} seals; {report.checkpoints} signed checkpoints"
        )
        if not report.ok:
            problems = "\n".join(f"  - {problem}" for problem in report.problems)
            raise CommandError(f"audit trail BROKEN: {summary}\n{problems}")
        self.stdout.write(f"audit trail OK: {summary}")
        if report.head_seq is not None:
            self.stdout.write(f"head: seal {report.head_seq} {report.head_mac}")
