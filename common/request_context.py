"""Per-request context (request id, client address, device) for audit and error bodies.

A contextvar rather than thread-locals, so it is correct under ASGI too.
"""

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str | None = None
    device_id: str = ""
    user_agent: str = ""


_EMPTY = RequestContext()
_context: ContextVar[RequestContext | None] = ContextVar("nigrani_request", default=None)


def get_request_context() -> RequestContext:
    return _context.get() or _EMPTY


def set_request_context(ctx: RequestContext) -> Token[RequestContext | None]:
    return _context.set(ctx)


def reset_request_context(token: Token[RequestContext | None]) -> None:
    _context.reset(token)


def current_request_id() -> str:
    return get_request_context().request_id
