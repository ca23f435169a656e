"""Liveness and readiness probes.

Apps above ``common`` add checks of their own with ``register_check`` in their
``AppConfig.ready()`` (imports point down: this module never imports them).
"""

from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive; checks nothing else (a liveness probe must not depend on the DB)."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    from django.conf import settings

    if not settings.REDIS_URL:
        return "not configured"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok (embedded)" if settings.NIGRANI_EMBEDDED_REDIS else "ok"


def _check_job_queue() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
        (todo,) = cursor.fetchone()
    return f"ok ({todo} waiting)"


class CheckFailed(Exception):
    """A check's failure whose message is safe to show as it is (names and counts only)."""


# name -> (check, whether its failure makes the process unready)
_registered: dict[str, tuple[Callable[[], str], bool]] = {}


def register_check(name: str, check: Callable[[], str], *, affects_readiness: bool) -> None:
    """Add a check to ``/readyz``. One that does not affect readiness is still reported, and
    listed under ``degraded`` when it fails (the process can serve, something needs a look)."""
    _registered[name] = (check, affects_readiness)


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database, Redis (when configured) and the job queue all answer; the
    registered checks are reported too (``degraded``: failing ones that do not stop serving)."""
    checks: dict[str, str] = {}
    degraded: list[str] = []
    ready = True
    for name, (check, affects_readiness) in {
        "database": (_check_database, True),
        "redis": (_check_redis, True),
        "job_queue": (_check_job_queue, True),
        **_registered,
    }.items():
        try:
            checks[name] = check()
        except CheckFailed as exc:
            checks[name] = f"error: {exc}"
        except Exception as exc:  # a probe reports, it does not raise
            checks[name] = f"error: {type(exc).__name__}"
        else:
            continue
        if affects_readiness:
            ready = False
        else:
            degraded.append(name)
    body: dict = {"status": "ready" if ready else "unavailable", "checks": checks}
    if degraded:
        body["degraded"] = degraded
    return JsonResponse(body, status=200 if ready else 503)
