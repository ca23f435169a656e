"""Web sessions end after ``NIGRANI_WEB_IDLE_MINUTES`` without a request.

The session cookie's age slides too (``SESSION_COOKIE_AGE``), but that is only the cookie and
the session row's expiry; this enforces the rule on the server from the session's own record
of its last request, whatever the cookie or session-store settings.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.services import web_session_expire

LAST_ACTIVITY_KEY = "accounts.last_activity"
# A request a page makes by itself (a counter refresh, a socket ticket), not the officer: it
# does not count as activity, though an idle session is still ended by it.
BACKGROUND_HEADER = "X-Nigrani-Background"


class WebSessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            last_activity = request.session.get(LAST_ACTIVITY_KEY)
            idle_seconds = now - last_activity if isinstance(last_activity, int) else 0
            if idle_seconds > settings.NIGRANI_WEB_IDLE_MINUTES * 60:
                session_key = request.session.session_key or ""
                logout(request)  # flushes the session; the request goes on anonymous
                web_session_expire(officer=user, idle_seconds=idle_seconds, session_key=session_key)
            elif request.headers.get(BACKGROUND_HEADER) != "1" or last_activity is None:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)
