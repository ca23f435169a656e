"""Reads of districts, stations and beats, already limited to what the actor may see."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.scoping import ScopedActor, jurisdiction_q
from common.exceptions import NotFound
from jurisdictions.models import Beat, District, PoliceStation


def district_list(*, actor: ScopedActor) -> QuerySet[District]:
    """National roles see every district; everyone else only the district they work in."""
    scope = jurisdiction_q(actor, district="pk", station="stations", beat="stations__beats")
    return District.objects.filter(scope).select_related("province")


def district_get(*, actor: ScopedActor, code: str) -> District:
    district = district_list(actor=actor).filter(code=code).first()
    if district is None:
        raise NotFound()
    return district


def station_list(
    *, actor: ScopedActor, district_code: str | None = None
) -> QuerySet[PoliceStation]:
    """Stations in the actor's jurisdiction; a beat officer sees only the station of the beat."""
    scope = jurisdiction_q(actor, district="district", station="pk", beat="beats")
    stations = PoliceStation.objects.filter(scope).select_related("district")
    if district_code is not None:
        stations = stations.filter(district__code=district_code)
    return stations


def station_get(*, actor: ScopedActor, code: str) -> PoliceStation:
    station = station_list(actor=actor).filter(code=code).first()
    if station is None:
        raise NotFound()
    return station


def beat_list(*, actor: ScopedActor, station_code: str | None = None) -> QuerySet[Beat]:
    """Beats in the actor's jurisdiction; a beat officer sees only their own beat."""
    scope = jurisdiction_q(actor, district="station__district", station="station", beat="pk")
    beats = Beat.objects.filter(scope).select_related("station__district")
    if station_code is not None:
        beats = beats.filter(station__code=station_code)
    return beats


def beat_get(*, actor: ScopedActor, code: str) -> Beat:
    beat = beat_list(actor=actor).filter(code=code).first()
    if beat is None:
        raise NotFound()
    return beat
