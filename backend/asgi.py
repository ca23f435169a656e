"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from backend.routing import websocket_urlpatterns  # noqa: E402
from common.websocket import refuse_unknown_path  # noqa: E402

if settings.DEBUG:
    # Development only (make run): serve the admin's static files as runserver would.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Last: a path no consumer serves is a handshake rejection, not a 500 (URLRouter raises).
        "websocket": AllowedHostsOriginValidator(
            URLRouter([*websocket_urlpatterns, re_path(r"", refuse_unknown_path)])
        ),
    }
)
