"""``manage.py rotate_keys [--batch-size N] [--dry-run]``: re-encrypt at-rest values under the
active key.

Rotation procedure: (1) deploy ``NIGRANI_ENCRYPTION_KEYS="new:…,old:…"`` to every process, so
new writes use ``new`` and ``old`` still decrypts; (2) run this command; (3) once it reports
nothing left, drop ``old`` from the ring. Running it before step 1 reaches every process is
safe but incomplete: a process still on the old ring keeps writing ``old`` values, which a
second run picks up.

Every concrete ``EncryptedTextField`` of every installed model is found through the app
registry, so a model that gains one is covered without touching this file. Raw column values
are read with SQL (bypassing ``from_db_value``) so only values under another key are loaded;
each batch is re-encrypted in Python through the field itself and written back in one
transaction with a conditional ``UPDATE … WHERE column = <old ciphertext>``: a row rewritten
concurrently by the application is left alone (it already holds a fresh value) instead of being
overwritten with stale data. ``updated_at`` is not touched: the plaintext did not change.

The blind index (``NIGRANI_BLIND_INDEX_KEY``) is a separate key and is not touched.

It lives in ``audit`` although the keyring and the field are ``common``'s: the rotation is
audited, and ``audit`` is the lowest layer that may import both (``common`` imports nothing of
ours). It finds the encrypted models through the app registry, never by import.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction

from audit.models import AuditAction
from audit.services import audit_record
from common.crypto import CryptoError, settings_keyring
from common.fields import EncryptedTextField


@dataclass
class FieldReport:
    label: str  # "app_label.Model.field"
    rotated: int = 0
    skipped: int = 0  # changed concurrently between read and write
    unreadable: list[Any] = field(default_factory=list)  # primary keys only


def encrypted_fields() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) whose column holds an ``EncryptedTextField`` value, each column once
    (proxy and unmanaged models skipped; multi-table children only their own columns)."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for model_field in model._meta.local_concrete_fields:
            if isinstance(model_field, EncryptedTextField):
                yield model, model_field


def _stale_batch_sql(
    model: type[models.Model], model_field: EncryptedTextField, *, after_pk: bool
) -> str:
    """Rows whose value is not under the active key, in primary-key order (keyset paging:
    rows that cannot be rotated are stepped over, never fetched again)."""
    quote = connection.ops.quote_name
    pk, column = quote(model._meta.pk.column), quote(model_field.column)
    # substr rather than LIKE: a key id may contain LIKE wildcards ("_", "%").
    return (
        f"SELECT {pk}, {column} FROM {quote(model._meta.db_table)} "  # noqa: S608 - names from our own models
        f"WHERE {column} IS NOT NULL AND {column} <> '' AND substr({column}, 1, %s) <> %s "
        + (f"AND {pk} > %s " if after_pk else "")
        + f"ORDER BY {pk} LIMIT %s"
    )


def _update_sql(model: type[models.Model], model_field: EncryptedTextField, rows: int) -> str:
    quote = connection.ops.quote_name
    table, pk, column = (
        quote(model._meta.db_table),
        quote(model._meta.pk.column),
        quote(model_field.column),
    )
    values = ", ".join(["(%s, %s, %s)"] * rows)
    return (
        f"UPDATE {table} SET {column} = v.new_value "  # noqa: S608 - names from our own models
        f"FROM (VALUES {values}) AS v(pk, old_value, new_value) "
        f"WHERE {table}.{pk} = v.pk AND {table}.{column} = v.old_value"
    )


def rotate_field(
    model: type[models.Model], model_field: EncryptedTextField, *, batch_size: int, dry_run: bool
) -> FieldReport:
    report = FieldReport(label=f"{model._meta.label}.{model_field.name}")
    prefix = f"v1:{settings_keyring().active_kid}:"
    first_sql = _stale_batch_sql(model, model_field, after_pk=False)
    next_sql = _stale_batch_sql(model, model_field, after_pk=True)
    last_pk: Any = None
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if last_pk is None:
                    cursor.execute(first_sql, [len(prefix), prefix, batch_size])
                else:
                    cursor.execute(next_sql, [len(prefix), prefix, last_pk, batch_size])
                batch = cursor.fetchall()
            if not batch:
                return report
            last_pk = batch[-1][0]
            params: list[Any] = []
            for pk, stored in batch:
                try:
                    plaintext = model_field.from_db_value(stored, None, connection)
                except CryptoError:
                    report.unreadable.append(pk)
                    continue
                # Through the field, so whatever the field does on write is done here too.
                params += [pk, stored, model_field.get_prep_value(plaintext)]
            if dry_run or not params:
                report.rotated += len(params) // 3
                continue
            with connection.cursor() as cursor:
                cursor.execute(_update_sql(model, model_field, len(params) // 3), params)
                updated = cursor.rowcount
            report.rotated += updated
            report.skipped += len(params) // 3 - updated


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column value that is not under the active key "
        "(the first of NIGRANI_ENCRYPTION_KEYS). Idempotent; the blind index is untouched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="rows per transaction (default 500)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="decrypt and count what would be re-encrypted, write nothing",
        )

    def handle(self, *args: Any, batch_size: int, dry_run: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        active_kid = settings_keyring().active_kid
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        self.stdout.write(f"active key: {active_kid}{' (dry run)' if dry_run else ''}")
        reports = []
        for model, model_field in encrypted_fields():
            report = rotate_field(model, model_field, batch_size=batch_size, dry_run=dry_run)
            reports.append(report)
            line = f"  {report.label}: {verb} {report.rotated}"
            if report.skipped:
                line += f", {report.skipped} changed concurrently (left as written)"
            if report.unreadable:
                line += f", {len(report.unreadable)} UNREADABLE"
            self.stdout.write(line)
        total = sum(r.rotated for r in reports)
        self.stdout.write(f"total: {verb} {total}")

        if total and not dry_run:
            self._audit(active_kid, reports)
        unreadable = {r.label: r.unreadable for r in reports if r.unreadable}
        if unreadable:
            # Primary keys only: never the stored values. A value under a key missing from
            # the ring cannot be rotated; put the key back in the ring and run again.
            raise CommandError(
                f"values no key in the ring can decrypt (primary keys): {unreadable}"
            )

    @staticmethod
    def _audit(active_kid: str, reports: list[FieldReport]) -> None:
        audit_record(
            actor=None,
            username="rotate_keys",
            action=AuditAction.UPDATE,
            object_type="encryption_keys",
            object_id=active_kid,
            details={
                "command": "rotate_keys",
                "rotated": {r.label: r.rotated for r in reports if r.rotated},
            },
        )
