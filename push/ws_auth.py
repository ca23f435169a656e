"""ASGI middleware for websockets: redeem the single-use ticket of ``?ticket=`` once, before
the consumer runs, and put it in ``scope["ws_ticket"]`` (None when missing or refused)."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from push import alert_stream


class TicketAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket", [])
        raw = values[-1] if values else ""
        ticket = await database_sync_to_async(alert_stream.ws_ticket_redeem)(raw=raw)
        scope = dict(scope, ws_ticket=ticket)
        return await super().__call__(scope, receive, send)
