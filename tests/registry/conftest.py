"""Fixtures shared by the register's tests."""

import pytest

from registry import hooks


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
