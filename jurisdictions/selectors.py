"""Reads of districts, stations and beats, already limited to what the actor may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from accounts.roles import Scope
from common.exceptions import NotFound
from jurisdictions.models import Beat, District, PoliceStation

if TYPE_CHECKING:  # accounts depends on jurisdictions: import the type only
    from accounts.models import Officer

_NOTHING = Q(pk__in=[])


def _jurisdiction_q(
    actor: Officer,
    *,
    district: str | None = None,
    station: str | None = None,
    beat: str | None = None,
) -> Q:
    """The filter limiting a queryset to the actor's jurisdiction.

    ``district``, ``station`` and ``beat`` are lookup paths from the filtered model to each
    level (``"pk"`` for the model itself, ``"station__district"`` from a beat, ``"beats"`` from
    a station). The actor's scope picks one path: national roles see everything, the others
    see rows whose path at their own level equals their own district, station or beat. A
    missing path or an officer without the jurisdiction their role needs sees nothing.

    Private stand-in for ``accounts.scoping.jurisdiction_q`` (same signature): switch the
    import when that lands.
    """
    if not actor.is_active:
        return _NOTHING
    scope = actor.scope
    if scope == Scope.NATIONAL:
        return Q()
    path, value = {
        Scope.DISTRICT: (district, actor.district_id),
        Scope.STATION: (station, actor.station_id),
        Scope.BEAT: (beat, actor.beat_id),
    }[scope]
    if path is None or value is None:
        return _NOTHING
    return Q(**{path: value})


def district_list(*, actor: Officer) -> QuerySet[District]:
    """National roles see every district; everyone else only the district they work in."""
    scope = _jurisdiction_q(actor, district="pk", station="stations", beat="stations__beats")
    return District.objects.filter(scope).select_related("province")


def district_get(*, actor: Officer, code: str) -> District:
    district = district_list(actor=actor).filter(code=code).first()
    if district is None:
        raise NotFound()
    return district


def station_list(*, actor: Officer, district_code: str | None = None) -> QuerySet[PoliceStation]:
    """Stations in the actor's jurisdiction; a beat officer sees only the station of the beat."""
    scope = _jurisdiction_q(actor, district="district", station="pk", beat="beats")
    stations = PoliceStation.objects.filter(scope).select_related("district")
    if district_code is not None:
        stations = stations.filter(district__code=district_code)
    return stations


def station_get(*, actor: Officer, code: str) -> PoliceStation:
    station = station_list(actor=actor).filter(code=code).first()
    if station is None:
        raise NotFound()
    return station


def beat_list(*, actor: Officer, station_code: str | None = None) -> QuerySet[Beat]:
    """Beats in the actor's jurisdiction; a beat officer sees only their own beat."""
    scope = _jurisdiction_q(actor, district="station__district", station="station", beat="pk")
    beats = Beat.objects.filter(scope).select_related("station__district")
    if station_code is not None:
        beats = beats.filter(station__code=station_code)
    return beats


def beat_get(*, actor: Officer, code: str) -> Beat:
    beat = beat_list(actor=actor).filter(code=code).first()
    if beat is None:
        raise NotFound()
    return beat
