"""Hooks: how the register triggers the apps above it without importing them.

Imports point down (ARCHITECTURE.md): ``registry`` never imports ``mobile_api``, ``checkins`` or
``compliance``. Each higher app registers its handlers here in its ``AppConfig.ready()``; the
register calls them inside the service's transaction. This module is the one place that lists
every hook the register offers:

- ``offender_released(offender, actor)`` — after release to ``active``: check-in schedule, first
  address-verification task for the beat.
- ``address_changed(offender, address, actor)`` — a new current address: verification task for
  the new beat.
- ``offender_transferred(offender, old_district, actor)`` — supervision moved to another district.
- ``notice_late(notice, actor)`` — a notice was filed after its deadline: compliance violation.
- ``travel_returned(notice, actor)`` — a travel notice was closed on return.
- ``notice_filed(notice, actor)`` — a notice of change was filed (after its write and audit):
  the offender's receipt, the NPB told of international travel.
- ``travel_acknowledged(notice, actor)`` — a travel notice was acknowledged (after the write).
- ``travel_cancelled(notice, actor)`` — a travel notice was cancelled (after the write).
- ``supervision_moved(offender, previous, current, actor)`` — the open supervision period
  changed (another district or station); ``previous``/``current`` are the closed and the new
  ``SupervisionPeriod``: the hand-over between the two sides.
- ``timeline_entries(offender)`` — extra entries for the offender's timeline; each handler
  returns a list of dicts ``{"at", "kind", "summary", "object_type", "object_id"}``.
- ``reporting_policy_changed(policy, actor)`` — a tier's intervals changed: the schedules kept by
  higher apps (check-ins, verification) move their due dates to follow.
- ``beat_offender_ids(officer)`` — offender ids a beat officer may see (those with a task
  assigned to it); with no handler a beat officer sees none.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

HOOK_NAMES = frozenset(
    {
        "offender_released",
        "address_changed",
        "offender_transferred",
        "notice_late",
        "travel_returned",
        "notice_filed",
        "travel_acknowledged",
        "travel_cancelled",
        "supervision_moved",
        "timeline_entries",
        "beat_offender_ids",
        "reporting_policy_changed",
    }
)

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


def handlers(name: str) -> list[Callable[..., Any]]:
    return list(_handlers[name])
