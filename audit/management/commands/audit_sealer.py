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
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from audit.keys import AuditKeyError, settings_checkpoint_keys, settings_seal_keys
from audit.services import CheckpointPublishError, audit_checkpoint_publish, audit_seal

logger = logging.getLogger("audit.sealer")


def audit_keys_required(command: str) -> None:
    """Fail at start, naming the settings, when this process cannot seal or sign: the keys
    are not required by the settings (the web process must not hold them)."""
    try:
        settings_seal_keys()
        settings_checkpoint_keys()
    except AuditKeyError as exc:
        raise CommandError(
            f"{command} needs NIGRANI_AUDIT_SEAL_KEYS and NIGRANI_AUDIT_SIGNING_KEY (or their "
            f"_FILE forms) in its environment: {exc}"
        ) from exc


class _Publisher:
    """Publishes a checkpoint every ``every`` seconds; a sink that failed is retried alone,
    after 1, 2, 4 … seconds (at most ``every``), until it takes one. Each failure is logged
    and recorded by ``audit_checkpoint_publish``; nothing here swallows it unseen."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.last = float("-inf")
        self.retry: set[str] = set()
        self.retry_at = 0.0
        self.backoff = 1.0

    def tick(self, now: float, *, force: bool = False) -> None:
        if force or now - self.last >= self.every:
            self._publish(now, only=None)
        elif self.retry and now >= self.retry_at:
            self._publish(now, only=self.retry)

    def _publish(self, now: float, *, only: set[str] | None) -> None:
        # A database error propagates (the loop logs it and the next second tries again, as
        # `last` is not moved); a sink's failure is retried here, that sink alone.
        try:
            audit_checkpoint_publish(only=only)
        except CheckpointPublishError as exc:
            if only is None:
                self.last = now
            self.retry = set(exc.failed)
            self.retry_at = now + self.backoff
            logger.warning("retrying %s in %.0f s", ", ".join(sorted(self.retry)), self.backoff)
            self.backoff = min(self.backoff * 2, self.every)
            return
        if only is None:
            self.last = now
        self.retry, self.backoff = set(), 1.0


class Command(BaseCommand):
    help = "Seal committed audit events continuously and publish signed checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="seal and publish once, then exit")

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        audit_keys_required("audit_sealer")
        stopping = False

        def _stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        interval = settings.NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS
        publisher = _Publisher(settings.NIGRANI_AUDIT_CHECKPOINT_SECONDS)
        while not stopping:
            started = time.monotonic()
            try:
                seal = audit_seal()
                if seal is not None:
                    logger.debug("seal %s: %s events", seal.seq, seal.event_count)
                publisher.tick(started, force=once)
            except Exception:  # a database restart must not end the sealer
                logger.exception("sealing failed; retrying")
                close_old_connections()
            if once:
                if publisher.retry:  # logged and recorded already; a one-shot run says so too
                    raise CommandError(
                        "checkpoint not published to " + ", ".join(sorted(publisher.retry))
                    )
                return
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
