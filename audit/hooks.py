"""Hooks: how the audit trail triggers the apps above it without importing them.

Imports point down (ARCHITECTURE.md): ``audit`` never imports ``push``. A higher app registers
its handler here in its ``AppConfig.ready()``; the trail calls it in the refusing request's
transaction. The one hook:

- ``denial_burst(actor, count, window_start)`` — an officer's refused requests on offender
  data reached ``NIGRANI_AUDIT_DENIAL_BURST`` within one minute (called once per minute):
  the NPB is told (push registers the in-app notice).
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

HOOK_NAMES = frozenset({"denial_burst"})

_handlers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def register(name: str, handler: Callable[..., Any]) -> None:
    """Register ``handler`` for hook ``name`` (idempotent: registering twice keeps one)."""
    if name not in HOOK_NAMES:
        raise ValueError(f"unknown hook {name!r}")
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def call(name: str, **kwargs: Any) -> list[Any]:
    if name not in HOOK_NAMES:
        raise ValueError(f"unknown hook {name!r}")
    return [handler(**kwargs) for handler in _handlers[name]]
