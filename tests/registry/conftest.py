"""Fixtures shared by the register's tests."""

import pytest

from registry import hooks
from registry.models import NoticeDeadline, NoticeKind


@pytest.fixture
def deadlines(db) -> None:
    """The default policy, stated here so the tests say which rule they exercise."""
    for kind in (
        NoticeKind.NAME_CHANGE,
        NoticeKind.ADDRESS_CHANGE,
        NoticeKind.PHONE_CHANGE,
        NoticeKind.EMPLOYMENT_CHANGE,
    ):
        NoticeDeadline.objects.update_or_create(
            kind=kind, defaults={"days_after_change": 3, "days_before_departure": None}
        )
    NoticeDeadline.objects.update_or_create(
        kind=NoticeKind.INTERNATIONAL_TRAVEL,
        defaults={"days_after_change": None, "days_before_departure": 7},
    )
    NoticeDeadline.objects.update_or_create(
        kind=NoticeKind.DOMESTIC_TRAVEL,
        defaults={"days_after_change": None, "days_before_departure": 3},
    )


@pytest.fixture
def recorded_hooks():
    """Every hook the register calls, recorded; handlers removed afterwards."""
    calls: list[tuple[str, dict]] = []
    added = []
    for name in ("offender_released", "address_changed", "offender_transferred"):

        def handler(_name=name, **kwargs):
            calls.append((_name, kwargs))

        hooks.register(name, handler)
        added.append((name, handler))
    yield calls
    for name, handler in added:
        hooks._handlers[name].remove(handler)
