"""Liveness and readiness probes."""

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


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database, Redis (when configured) and the job queue all answer."""
    checks: dict[str, str] = {}
    ready = True
    for name, check in (
        ("database", _check_database),
        ("redis", _check_redis),
        ("job_queue", _check_job_queue),
    ):
        try:
            checks[name] = check()
        except Exception as exc:  # a probe reports, it does not raise
            checks[name] = f"error: {type(exc).__name__}"
            ready = False
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
