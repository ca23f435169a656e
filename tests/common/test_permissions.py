"""The one permission class: how a view's ``required_permission`` reads by method."""

from types import SimpleNamespace

import pytest

from common.permissions import HoldsPermission, needed_permission

BY_METHOD = {"read": "thing.read", "POST": "thing.create", "*": "thing.manage"}


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("GET", "thing.read"),
        ("HEAD", "thing.read"),
        ("OPTIONS", "thing.read"),
        ("POST", "thing.create"),
        ("PATCH", "thing.manage"),
        ("DELETE", "thing.manage"),
    ],
)
def test_dict_by_method_falls_back_to_read_then_star(method: str, expected: str) -> None:
    assert needed_permission(BY_METHOD, method) == expected


def test_one_name_applies_to_every_method_and_a_missing_method_needs_the_impossible() -> None:
    assert needed_permission("thing.read", "DELETE") == "thing.read"
    assert needed_permission({"GET": "thing.read"}, "POST") is None


def _request(user: object, method: str) -> SimpleNamespace:
    return SimpleNamespace(user=user, method=method)


class _User:
    is_authenticated = True

    def __init__(self, *held: str) -> None:
        self.held = set(held)

    def has_permission(self, name: str) -> bool:
        return name in self.held


def test_any_of_a_tuple_is_enough_and_none_of_it_is_refused() -> None:
    view = SimpleNamespace(required_permission={"read": ("a.read", "a.release"), "*": "a.write"})
    check = HoldsPermission().has_permission
    assert check(_request(_User("a.release"), "GET"), view)
    assert not check(_request(_User("a.release"), "POST"), view)
    assert not check(_request(_User(), "GET"), view)


def test_anonymous_and_views_without_a_requirement_are_refused() -> None:
    check = HoldsPermission().has_permission
    assert not check(_request(None, "GET"), SimpleNamespace(required_permission="a.read"))
    assert not check(_request(_User("a.read"), "GET"), SimpleNamespace())
