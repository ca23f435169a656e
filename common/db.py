"""A cursor for hot paths that binds its parameters on the server.

Django's PostgreSQL backend gives psycopg's ``ClientCursor`` unless ``server_side_binding`` is
set for the whole database, which the ORM does not fully support: every parameter is quoted
into the SQL text in Python (a regex per string, per array element) and the server parses and
plans each statement anew. The ping ingest sends arrays of hundreds of values a batch, hundreds
of batches a second: there that quoting was the largest cost of the Python side. This cursor
sends the values apart from the statement (binary where psycopg can), and psycopg prepares a
statement it has run five times on the connection, so the server plans it once.

It is still Django's cursor wrapper: ``execute_wrappers``, the query log under DEBUG and
``CaptureQueriesContext`` (the tests' query counts) see its statements like any other.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]
from django.db.backends.postgresql.psycopg_any import register_tzloader  # type: ignore[import-untyped]
from django.db.backends.utils import CursorWrapper
from psycopg.postgres import types
from psycopg.pq import Format

_TIMESTAMPTZ_OID = types["timestamptz"].oid


@contextmanager
def bound_cursor() -> Iterator[CursorWrapper]:
    """A server-binding cursor on the default connection (raw SQL only: write ``%s`` or
    ``%(name)s`` placeholders, with explicit casts where a type is not obvious)."""
    # As BaseDatabaseWrapper._cursor and create_cursor do for Django's own cursors.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
        loader = connection.connection.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, raw)
        cursor = connection._prepare_cursor(raw)  # type: ignore[attr-defined]
    with cursor:
        yield cursor
