"""Daily partitions of ``geofence_ping``: created ahead, dropped whole past retention."""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

PARTITION_DDL_LOCK = 0x6E6770  # "ngp": this app's advisory lock key for partition DDL
_NAME = re.compile(r"^geofence_ping_p(\d{8})$")
# Days this process knows to have a partition (created or seen); saves a catalogue lookup.
_known: set[date] = set()


def _partition_name(day: date) -> str:
    return f"geofence_ping_p{day:%Y%m%d}"


def _existing() -> set[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'geofence_ping'::regclass"
        )
        names = [row[0] for row in cursor.fetchall()]
    return {date.fromisoformat(m.group(1)) for n in names if (m := _NAME.match(n))}


def partitions_ensure(moments: Iterable[datetime]) -> None:
    """Make sure the UTC days of ``moments`` have partitions (ingest calls it for late pings
    the job did not foresee; normally every day exists already)."""
    days = {m.astimezone(UTC).date() for m in moments} - _known
    if not days:
        return
    existing = _existing()
    _known.update(existing)
    for day in sorted(days - existing):
        _create(day)
    _known.update(days)


def _create(day: date) -> None:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    # Its own transaction: creating a partition locks the parent briefly; never inside a batch.
    # Two processes creating the same day race inside CREATE … IF NOT EXISTS (the catalogue
    # check is not atomic): an advisory lock taken only here, for partition DDL, orders them.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTITION_DDL_LOCK])
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {_partition_name(day)} PARTITION OF geofence_ping "
            "FOR VALUES FROM (%s) TO (%s)",
            [start, end],
        )


def partitions_create_ahead(*, today: date | None = None) -> int:
    """Create the partitions from the retention window's start through the days ahead;
    returns how many were created."""
    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=settings.NIGRANI_PING_RETENTION_DAYS)
    wanted = {
        first + timedelta(days=n)
        for n in range((today - first).days + settings.NIGRANI_PING_PARTITIONS_AHEAD_DAYS + 1)
    }
    missing = sorted(wanted - _existing())
    for day in missing:
        _create(day)
    _known.update(wanted)
    return len(missing)


def partitions_drop_expired(*, today: date | None = None) -> list[str]:
    """Drop whole partitions entirely older than the retention window (never row deletes)."""
    today = today or timezone.now().astimezone(UTC).date()
    cutoff = today - timedelta(days=settings.NIGRANI_PING_RETENTION_DAYS)
    dropped = []
    for day in sorted(_existing()):
        if day + timedelta(days=1) <= cutoff:
            name = _partition_name(day)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
            _known.discard(day)
            dropped.append(name)
    return dropped
