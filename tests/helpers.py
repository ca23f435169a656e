"""Helpers shared by the tests of several apps (fixtures live in the conftest files)."""

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
