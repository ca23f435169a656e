"""SQL that names a status (or a kind, an outcome…) takes it from the ``TextChoices`` as a
parameter, never as a string literal: renaming an enum value must not leave a statement
silently matching nothing. Every raw SQL constant of our apps (``*_SQL`` module strings) is
scanned; each module's ``SQL_ENUMS`` (the parameters its statements name) must hold enum
members, each of them used by one of its statements."""

import importlib
import pkgutil
import re
from types import ModuleType

import pytest
from django.db import models

APPS = ("accounts", "audit", "checkins", "common", "compliance", "jurisdictions", "mobile_api")
APPS += ("push", "registry")
LITERAL = re.compile(r"'((?:[^']|'')*)'")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Literals that are no enum's value although they spell one: ``''`` is "not set" everywhere
# (a blank choice), and the timeline's branch label ``'checkin'`` is read back by the Python
# beside it (it only happens to equal ``AccessPurpose.CHECKIN``).
NOT_ENUM = {"", "checkins.selectors._TIMELINE_SQL:checkin"}


def _modules() -> list[ModuleType]:
    found = []
    for app in APPS:
        package = importlib.import_module(app)
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            found.append(importlib.import_module(info.name))
    return found


def _statements() -> list[tuple[str, str]]:
    return [
        (f"{module.__name__}.{name}", value)
        for module in _modules()
        for name, value in vars(module).items()
        if name.endswith("_SQL") and isinstance(value, str)
    ]


def _choices(cls: type = models.Choices) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        if sub.__module__.split(".")[0] in APPS:
            found.add(sub)
        found |= _choices(sub)
    return found


def _enum_values() -> dict[str, str]:
    return {
        str(member.value): f"{cls.__name__}.{member.name}"
        for cls in _choices()
        for member in cls
        if isinstance(member.value, str)
    }


def test_the_scan_sees_the_statements_and_the_enums():
    names = {name for name, _ in _statements()}
    assert "mobile_api.services.tasks._SCHEDULE_SQL" in names
    assert "registry.services.dues._CHECKIN_DUES_SQL" in names
    assert _enum_values()["open"].endswith(".OPEN")


@pytest.mark.parametrize(("name", "sql"), _statements(), ids=lambda v: v[:60])
def test_no_statement_spells_an_enum_value(name, sql):
    values = _enum_values()
    spelt = {
        literal: values[literal]
        for literal in LITERAL.findall(sql)
        if literal in values and not ({literal, f"{name}:{literal}"} & NOT_ENUM)
    }
    assert not spelt, f"{name} spells {spelt}: pass the enum member as a parameter"


@pytest.mark.parametrize(
    "module", [m for m in _modules() if hasattr(m, "SQL_ENUMS")], ids=lambda m: m.__name__
)
def test_sql_enum_parameters_are_enum_members_the_statements_use(module):
    used = {
        placeholder
        for name, value in vars(module).items()
        if name.endswith("_SQL") and isinstance(value, str)
        for placeholder in PLACEHOLDER.findall(value)
    }
    for key, member in module.SQL_ENUMS.items():
        assert isinstance(member, models.Choices), f"{key} is not an enum member"
        assert key in used, f"{module.__name__}.SQL_ENUMS[{key!r}] is used by no statement"
