"""Deleting rows past their retention without one long transaction.

A nightly prune of a log that grew for months must not hold locks on millions of rows, nor
fill the WAL in one statement, nor load the rows into Python: it deletes in bounded chunks,
each one set-based statement in its own short transaction (``DELETE … WHERE id IN (SELECT id
… ORDER BY id LIMIT n)``).
"""

from django.db import transaction
from django.db.models import QuerySet

DEFAULT_CHUNK = 5000


def delete_in_chunks(queryset: QuerySet, *, chunk: int = DEFAULT_CHUNK) -> int:
    """Delete the rows of ``queryset`` ``chunk`` at a time; returns how many went.

    The model must be one Django can fast-delete (no cascades, no delete signals): each
    chunk is then a single DELETE. Rows that start matching while it runs may go too; that is
    what a retention prune wants."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    model = queryset.model
    total = 0
    while True:
        ids = queryset.order_by("pk").values("pk")[:chunk]
        with transaction.atomic():
            deleted, _ = model._base_manager.filter(pk__in=ids).delete()
        total += deleted
        if deleted < chunk:
            return total
