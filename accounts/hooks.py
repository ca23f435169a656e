"""Hooks: how the accounts app tells the apps above it that a sign-in ended or an officer's
access changed, without importing them.

Imports point down (docs/architecture.md): ``accounts`` never imports ``push``. A higher app
registers its handler here in its ``AppConfig.ready()``; the accounts services call them
**after their transaction commits** (``sign_ins_ended_on_commit``), so a handler sees the
committed state and a rolled-back revocation tells nobody. Handlers must not raise (what they
do is best effort; the open alert sockets also re-check every ``NIGRANI_WS_RECHECK_SECONDS``).

- ``sign_in_ended(officer_id, session_keys, token_ids, access_changed)`` — an officer's web
  sessions (``session_keys``) were signed out or its device tokens (``token_ids``) revoked,
  or (``access_changed``) its role, agency, jurisdiction or active status changed: push closes
  the open alert sockets that rested on them at once.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction

HOOK_NAMES = frozenset({"sign_in_ended"})

_handlers: dict[str, list[Callable[..., Any]]] = defaultdict(list)


def register(name: str, handler: Callable[..., Any]) -> None:
    """Register ``handler`` for hook ``name`` (idempotent: registering twice keeps one)."""
    if name not in HOOK_NAMES:
        raise ValueError(f"unknown hook {name!r}")
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def call(name: str, **kwargs: Any) -> list[Any]:
    """Call every handler of ``name`` in registration order and return their results."""
    if name not in HOOK_NAMES:
        raise ValueError(f"unknown hook {name!r}")
    return [handler(**kwargs) for handler in _handlers[name]]


def sign_ins_ended_on_commit(
    *,
    officer_id: int,
    session_keys: Iterable[str] = (),
    token_ids: Iterable[int] = (),
    access_changed: bool = False,
) -> None:
    """Call ``sign_in_ended`` once the current transaction commits (at once outside one)."""
    keys = [key for key in session_keys if key]
    tokens = list(token_ids)
    if not keys and not tokens and not access_changed:
        return
    transaction.on_commit(
        lambda: call(
            "sign_in_ended",
            officer_id=officer_id,
            session_keys=keys,
            token_ids=tokens,
            access_changed=access_changed,
        )
    )
