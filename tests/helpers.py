"""Helpers shared by the tests of several apps (fixtures live in the conftest files)."""

import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext


def query_count(request: Callable[[], Any], *, status: int = 200) -> int:
    """How many queries ``request()`` (a test-client call) ran; its response must have
    ``status``. List endpoints pin theirs by comparing one row with many."""
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == status, response.content
    return len(captured)


def wait_until_a_backend_waits_on_a_lock(*, timeout_s: float = 10.0) -> bool:
    """Poll PostgreSQL until another connection of this test database is blocked on a lock
    (a row lock, a unique index entry): how a race test knows its second party really waits
    on the first before letting the first go. False when none did within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= 1:
                return True
    return False


def database_url(*, name: str | None = None, **query: str) -> str:
    """A URL of this run's test database (or ``name`` on the same server) for a subprocess the
    test starts (uvicorn, the sealer). A unix-socket host — the embedded PostgreSQL that
    ``make test`` starts when ``DATABASE_URL`` is unset — goes in the query string, where both
    dj-database-url and libpq read it."""
    from urllib.parse import quote, urlencode

    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += f":{quote(db['PASSWORD'])}"
    host = db["HOST"] or "127.0.0.1"
    params = dict(query)
    if host.startswith("/"):
        params["host"] = host
        netloc = f"{credentials}@"
    else:
        netloc = f"{credentials}@{host}:{db['PORT'] or 5432}"
    url = f"postgresql://{netloc}/{name or db['NAME']}"
    return f"{url}?{urlencode(params)}" if params else url
