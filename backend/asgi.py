"""ASGI entry point: HTTP through Django, websockets through Channels; the ping route through
Django's WSGI handler on a few reused threads (common/asgi.py says why)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import re_path  # noqa: E402

from backend.routing import websocket_urlpatterns  # noqa: E402
from common.asgi import ThreadedWsgiRoute, route_paths  # noqa: E402
from common.websocket import refuse_unknown_path  # noqa: E402

if settings.DEBUG:
    # Development only (make run): serve the admin's static files as runserver would.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

# The ping endpoint (every tag, every minute) through Django's WSGI handler on reused threads:
# about half the CPU a request of the ASGI handler's thread per request (common/asgi.py).
ping_route = ThreadedWsgiRoute(
    get_wsgi_application(),
    threads=settings.NIGRANI_PING_THREADS,
    max_body=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
)
http_app = route_paths(frozenset({"/api/v1/pings/"}), ping_route, django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Last: a path no consumer serves is a handshake rejection, not a 500 (URLRouter raises).
        "websocket": AllowedHostsOriginValidator(
            URLRouter([*websocket_urlpatterns, re_path(r"", refuse_unknown_path)])
        ),
    }
)
