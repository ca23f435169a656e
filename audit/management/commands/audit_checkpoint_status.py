"""Whether signed checkpoints are reaching every configured sink (the sealer's health check).

Reads the publisher's record in the database (``CheckpointPublication``), not the sinks, so it
needs no key and no store credentials; exits non-zero naming each sink that is failing or
stale. ``verify_audit`` is what checks the checkpoints themselves.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.selectors import checkpoint_publication_health
from common.health import CheckFailed


class Command(BaseCommand):
    help = "Exit non-zero when a checkpoint sink is failing or has not been reached lately."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(checkpoint_publication_health())
        except CheckFailed as exc:
            raise CommandError(str(exc)) from exc
