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
    if not actor.is_active:
        return NOTHING
    if permission is not None and not role_has_permission(actor.role, permission):
        return NOTHING
    scope = role_scope(actor.role)
    if scope == Scope.NATIONAL:
        return Q()
    path, value = {
        Scope.DISTRICT: (district, actor.district_id),
        Scope.STATION: (station, actor.station_id),
        Scope.BEAT: (beat, actor.beat_id),
    }[scope]
    if path is None or value is None:
        return NOTHING
    return Q(**{path: value})
