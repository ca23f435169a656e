"""The one scoping mechanism: an actor and a model's paths to its jurisdiction → a ``Q``.

Every selector that limits rows to "what this officer may see" builds on ``jurisdiction_q``,
as NetBox's ``restrict()`` does: lists, details and writes share one filter, and a row outside
it is simply not there (404). Adding a role means a row in ``accounts.roles.ROLE_TABLE`` (its
scope level) and ``PERMISSIONS``; adding a scope level means editing this module only.

Need-to-know refinements (a prison officer sees only in-custody offenders, a beat officer only
its assigned tasks, a former supervisor a read-only slice) are written by the owning selector
*on top of* this filter, never instead of it.

A leaf module: no model imports, so ``jurisdictions`` (below ``accounts``) may use it too. The
actor is anything with the ``ScopedActor`` attributes (an ``accounts.models.Officer``).
"""

from typing import Protocol

from django.db.models import Q

from accounts.roles import Scope, role_has_permission, role_scope

NOTHING = Q(pk__in=[])


class ScopedActor(Protocol):
    """What scoping reads of an officer."""

    is_active: bool
    role: str
    district_id: int | None
    station_id: int | None
    beat_id: int | None


def _actor_level(actor: ScopedActor, permission: str | None) -> tuple[Scope, int | None] | None:
    """The actor's scope level and their own jurisdiction's id at it, or ``None`` when the
    actor sees nothing (inactive, or without ``permission``). The one reading of the role
    table that both forms below share."""
    if not actor.is_active:
        return None
    if permission is not None and not role_has_permission(actor.role, permission):
        return None
    scope = role_scope(actor.role)
    own = {
        Scope.NATIONAL: None,
        Scope.DISTRICT: actor.district_id,
        Scope.STATION: actor.station_id,
        Scope.BEAT: actor.beat_id,
    }[scope]
    return scope, own


def jurisdiction_q(
    actor: ScopedActor,
    *,
    district: str | None = None,
    station: str | None = None,
    beat: str | None = None,
    permission: str | None = None,
) -> Q:
    """The filter limiting a queryset to the actor's jurisdiction.

    ``district``, ``station`` and ``beat`` are lookup paths from the filtered model to each
    level (``"pk"`` for the model itself, ``"station__district"`` from a beat, ``"beats"`` from
    a station). The actor's scope picks one path: national roles see everything, the others
    see rows whose path at their own level equals their own district, station or beat. A
    missing path, an inactive officer, an officer without the jurisdiction their role needs,
    or (when ``permission`` is given) a role without that permission sees nothing.
    """
    level = _actor_level(actor, permission)
    if level is None:
        return NOTHING
    scope, own = level
    if scope == Scope.NATIONAL:
        return Q()
    path = {Scope.DISTRICT: district, Scope.STATION: station, Scope.BEAT: beat}[scope]
    if path is None or own is None:
        return NOTHING
    return Q(**{path: own})


def in_jurisdiction(
    actor: ScopedActor,
    *,
    district_id: int | None = None,
    station_id: int | None = None,
    beat_id: int | None = None,
    permission: str | None = None,
) -> bool:
    """``jurisdiction_q`` for one object already in hand (its district, station and beat
    ids): whether the actor's jurisdiction contains it. Same rules, no query."""
    level = _actor_level(actor, permission)
    if level is None:
        return False
    scope, own = level
    if scope == Scope.NATIONAL:
        return True
    theirs = {Scope.DISTRICT: district_id, Scope.STATION: station_id, Scope.BEAT: beat_id}[scope]
    return own is not None and theirs == own
