"""The one scoping mechanism, as pure functions: every role's scope level picks one path, and
the Python form (``in_jurisdiction``) agrees with the ``Q`` form (``jurisdiction_q``)."""

from dataclasses import dataclass

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.roles import ROLE_TABLE, Role, Scope, roles_scoped_to
from accounts.scoping import NOTHING, in_jurisdiction, jurisdiction_q
from tests.factories import OfficerFactory


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


def test_the_officer_constraints_bind_every_scoped_role_to_its_level() -> None:
    bound = {
        scope: set(roles_scoped_to(scope)) for scope in (Scope.DISTRICT, Scope.STATION, Scope.BEAT)
    }
    for role, (scope, _, _) in ROLE_TABLE.items():
        if scope != Scope.NATIONAL:
            assert role.value in bound[scope]
    assert sum(len(roles) for roles in bound.values()) == sum(
        1 for scope, _, _ in ROLE_TABLE.values() if scope != Scope.NATIONAL
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r for r in Role if ROLE_TABLE[r][0] != Scope.NATIONAL])
def test_database_refuses_a_scoped_officer_without_the_jurisdiction_of_its_level(
    world, role: Role
) -> None:
    # Every level but the role's own is filled in, so only its constraint can refuse.
    levels = {"district": world.lahore, "station": world.lahore_a, "beat": world.lahore_a_1}
    missing = ROLE_TABLE[role][0].value
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficerFactory(role=role, **{k: v for k, v in levels.items() if k != missing})
