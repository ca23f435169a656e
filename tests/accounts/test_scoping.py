"""The one scoping mechanism, as pure functions: every role's scope level picks one path, and
the Python form (``in_jurisdiction``) agrees with the ``Q`` form (``jurisdiction_q``)."""

from dataclasses import dataclass

import pytest
from django.db.models import Q

from accounts.roles import ROLE_TABLE, Role, Scope
from accounts.scoping import NOTHING, in_jurisdiction, jurisdiction_q


@dataclass
class Actor:
    role: str
    is_active: bool = True
    district_id: int | None = 1
    station_id: int | None = 10
    beat_id: int | None = 100


PATHS = {"district": "d", "station": "s", "beat": "b"}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_filters_on_the_path_of_its_own_scope_level(role: Role) -> None:
    expected = {
        Scope.NATIONAL: Q(),
        Scope.DISTRICT: Q(d=1),
        Scope.STATION: Q(s=10),
        Scope.BEAT: Q(b=100),
    }[ROLE_TABLE[role][0]]
    assert jurisdiction_q(Actor(role), **PATHS) == expected


def test_inactive_officer_sees_nothing() -> None:
    assert jurisdiction_q(Actor(Role.REGISTRY_ADMIN, is_active=False), **PATHS) == NOTHING
    assert not in_jurisdiction(Actor(Role.REGISTRY_ADMIN, is_active=False), district_id=1)


def test_role_without_the_permission_sees_nothing() -> None:
    assert jurisdiction_q(Actor(Role.AUDITOR), permission="offender.read", **PATHS) == NOTHING
    assert jurisdiction_q(Actor(Role.REGISTRY_ADMIN), permission="offender.read") == Q()


def test_missing_path_or_missing_own_jurisdiction_sees_nothing() -> None:
    assert jurisdiction_q(Actor(Role.BEAT_OFFICER), district="d", station="s") == NOTHING
    assert jurisdiction_q(Actor(Role.CONTROL_ROOM, district_id=None), **PATHS) == NOTHING


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("district_id", "station_id", "beat_id"), [(1, 10, 100), (2, 20, 200)])
def test_python_form_agrees_with_the_q_form(
    role: Role, district_id: int, station_id: int, beat_id: int
) -> None:
    actor = Actor(role)
    q = jurisdiction_q(actor, **PATHS)
    row = {"d": district_id, "s": station_id, "b": beat_id}
    q_says = q != NOTHING and all(row[key] == value for key, value in q.children)
    assert (
        in_jurisdiction(actor, district_id=district_id, station_id=station_id, beat_id=beat_id)
        == q_says
    )
