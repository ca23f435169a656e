"""Websocket plumbing shared by every app's routes."""

from typing import Any


async def refuse_unknown_path(scope: dict, receive: Any, send: Any) -> None:
    """The route of last resort: a websocket to a path no consumer serves is refused at the
    handshake (the server answers 403), quietly; ``URLRouter`` itself would raise, a 500 with
    a traceback in the log for every probe."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 4404})
        elif message["type"] == "websocket.disconnect":
            return
