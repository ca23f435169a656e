"""The sealer: seal committed events continuously and publish a signed checkpoint each minute.

It looks every ``NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS`` (0.25 s) and, while a seal takes longer
than that, runs back to back; a look that finds nothing ended writes nothing. Not LISTEN/NOTIFY:
a NOTIFY from every audited transaction would serialise their commits on the notification
queue's lock, the very global lock the append got rid of.

Run it as its own process (compose's ``sealer`` service; ``make run`` starts it). Several may
run: they take turns through an advisory lock that writers never touch. The worker's periodic
``audit.seal_and_checkpoint`` job does the same once a minute, so the trail is still sealed
and checkpointed, later, if this process is down.
"""

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from audit.services import audit_checkpoint_publish, audit_seal

logger = logging.getLogger("audit.sealer")


class Command(BaseCommand):
    help = "Seal committed audit events continuously and publish signed checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="seal and publish once, then exit")

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        stopping = False

        def _stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        interval = settings.NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS
        every = settings.NIGRANI_AUDIT_CHECKPOINT_SECONDS
        last_checkpoint = 0.0
        while not stopping:
            started = time.monotonic()
            try:
                seal = audit_seal()
                if seal is not None:
                    logger.debug("seal %s: %s events", seal.seq, seal.event_count)
                if once or started - last_checkpoint >= every:
                    audit_checkpoint_publish()
                    last_checkpoint = started
            except Exception:  # a database restart must not end the sealer
                logger.exception("sealing failed; retrying")
                close_old_connections()
            if once:
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
