"""The control-room page (``/control-room/``) and the few JSON reads only it needs.

Thin: the page is a static shell; its script reads the alert list and acts through the
existing API (session + CSRF), listens on ``ws/alerts/``, and asks here for its settings, the
district counters and the session's state. Every response of the page carries a strict
Content-Security-Policy: no inline script or style anywhere.
"""

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.middleware import LAST_ACTIVITY_KEY
from common.exceptions import error_json
from controlroom.selectors import (
    controlroom_district,
    controlroom_districts,
    controlroom_may_open,
    district_counters,
)
from jurisdictions.models import District


def content_security_policy(request: HttpRequest) -> str:
    """Scripts, styles and fetches from this origin only (plus the tile server's images when
    one is configured); the socket to this host; nothing framed, no plugins."""
    host = request.get_host()
    img = ["'self'", "data:"]
    tile_url = settings.NIGRANI_MAP_TILE_URL
    if tile_url:
        parts = urlsplit(tile_url)
        img.append(f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(img)}",
            f"connect-src 'self' ws://{host} wss://{host}",
            "font-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


def _page_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else the sign-in page), allowed to watch a district (else 403), CSP set."""

    @wraps(view)
    @never_cache
    @login_required
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not controlroom_may_open(request.user):
            response = render(request, "controlroom/forbidden.html", status=403)
        else:
            response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = content_security_policy(request)
        return response

    return wrapped


def _json_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The page's reads: JSON 401 when signed out (the script then says so), 403 if not allowed."""

    @wraps(view)
    @never_cache
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"signed_in": False}, status=401)
        if not controlroom_may_open(request.user):
            return JsonResponse({"signed_in": True, "allowed": False}, status=403)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@_page_only
def page(request: HttpRequest) -> HttpResponse:
    return render(request, "controlroom/page.html")


def _idle_left(request: HttpRequest) -> int:
    """Seconds before the idle sign-out, from the session's last counted activity."""
    idle = settings.NIGRANI_WEB_IDLE_MINUTES * 60
    last = request.session.get(LAST_ACTIVITY_KEY)
    if not isinstance(last, int):
        return idle
    return max(0, idle - (int(timezone.now().timestamp()) - last))


def _watched(request: HttpRequest) -> District | None:
    """``?district=``: the district the page watches (its own for a control room; any one a
    national watcher picks), None when the officer may not watch it."""
    return controlroom_district(officer=request.user, code=request.GET.get("district") or None)


def _no_such_district() -> JsonResponse:
    return error_json(
        status=404,
        code="not_found",
        message="No such district.",
        fields={"district": ["not found"]},
    )


@require_GET
@_json_only
def config(request: HttpRequest) -> JsonResponse:
    officer = request.user
    district = _watched(request)
    if district is None:
        return _no_such_district()
    return JsonResponse(
        {
            "officer": {"id": officer.pk, "username": officer.username, "name": officer.full_name},
            "district": {"code": district.code, "name": district.name},
            # More than one only for national watchers: the page then shows a picker.
            "districts": [
                {"code": code, "name": name}
                for code, name in controlroom_districts(officer=officer)
            ],
            "idle_seconds": settings.NIGRANI_WEB_IDLE_MINUTES * 60,
            "idle_seconds_left": _idle_left(request),
            "warn_seconds": settings.NIGRANI_CONTROLROOM_IDLE_WARN_SECONDS,
            "tiles": {
                "url": settings.NIGRANI_MAP_TILE_URL,
                "attribution": settings.NIGRANI_MAP_TILE_ATTRIBUTION,
            },
        }
    )


@require_GET
@_json_only
def counters(request: HttpRequest) -> JsonResponse:
    district = _watched(request)
    if district is None:
        return _no_such_district()
    return JsonResponse(district_counters(actor=request.user, district=district).as_dict())


@require_POST
@_json_only
def keepalive(request: HttpRequest) -> JsonResponse:
    """An interaction on the page: the session middleware has already slid the idle timeout
    (every signed-in request does); this answers how long is left now."""
    return JsonResponse({"signed_in": True, "idle_seconds_left": _idle_left(request)})


@require_GET
@never_cache
def session_state(request: HttpRequest) -> JsonResponse:
    """Asked (as a background request, which does not count as activity) when the page's idle
    clock runs out: the middleware has signed the session out by then, or another tab kept it
    alive and the page resets its clock."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False})
    return JsonResponse({"signed_in": True, "idle_seconds_left": _idle_left(request)})
