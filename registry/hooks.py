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
- ``notice_confirmation_requested(notice, actor)`` — a notice filed at a station that does not
  supervise the offender waits (``unconfirmed``) for the offender's one-time code to the
  registered phone; the handler (checkins) opens the challenge and sends the code, and later
  calls ``registry.services.notices.notice_confirm``.
- ``travel_acknowledged(notice, actor)`` — a travel notice was acknowledged: its travel window
  opens (geofences).
- ``travel_cancelled(notice, actor)`` — a travel notice was cancelled: its window closes.
- ``travel_returned(notice, actor)`` — a travel notice was closed on return.
- ``timeline_entries(offender, actor)`` — extra entries for the offender's timeline; each handler
  returns a list of dicts ``{"at", "kind", "summary", "object_type", "object_id"}`` holding only
  what ``actor`` may read of its own kind: its own read permission and jurisdiction, through
  ``accounts.scoping.jurisdiction_q`` (reading the record does not imply reading its
  violations or check-ins).
- ``reporting_policy_changed(policy, actor)`` — a tier's intervals changed and the register
  has moved the tier's due dates (``services.dues``): higher apps move what they keep by them
  (open periodic verification tasks).
- ``checkin_dues_held(offenders)`` — ids among the ``offenders`` queryset whose next check-in
  date must not move when the interval changes (check-ins: those in a missed period).
- ``counter_lookup_burst(officer, misses)`` — a burst of CNIC lookups that matched no one at a
  counter (``registry.services.lookup``): a higher app raises the security notice.
- ``notice_filed(notice, actor)`` — a notice of change was filed (after its write and audit):
  the offender's receipt, the NPB told of international travel.
- ``supervision_moved(offender, previous, current, actor)`` — the open supervision period
  changed (another district or station); ``previous``/``current`` are the closed and the new
  ``SupervisionPeriod``: the hand-over between the two sides.
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
        "notice_confirmation_requested",
        "travel_acknowledged",
        "travel_cancelled",
        "travel_returned",
        "notice_filed",
        "supervision_moved",
        "timeline_entries",
        "beat_offender_ids",
        "counter_lookup_burst",
        "reporting_policy_changed",
        "checkin_dues_held",
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
