"""The layer contract (pyproject.toml, run by ``lint-imports`` in CI) covers every app.

import-linter checks only the packages named in ``root_packages``, and a layer in parentheses
is skipped while it is absent: an app added to INSTALLED_APPS but not to both lists would
be silently unchecked. This test is what turns that into a failure: when ``geofence``,
``disclosures`` or ``controlroom`` lands (their layers are already written, in parentheses),
it asks for the one edit that makes import-linter check it, adding it to ``root_packages``.
"""

import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LAYERS = next(c for c in CONFIG["contracts"] if c["id"] == "layers")["layers"]


def _layer_names() -> set[str]:
    names = set()
    for layer in LAYERS:
        for name in layer.split("|"):
            names.add(name.strip().strip("()"))
    return names


def _first_party_apps() -> set[str]:
    top_level = {app.split(".")[0] for app in settings.INSTALLED_APPS}
    return {name for name in top_level if (ROOT / name / "__init__.py").exists()}


def test_every_first_party_app_is_a_root_package_and_a_layer() -> None:
    apps = _first_party_apps() | {"backend"}
    assert apps - set(CONFIG["root_packages"]) == set(), "add it to root_packages"
    assert apps - _layer_names() == set(), "give it its layer in pyproject.toml"


def test_every_listed_root_package_exists() -> None:
    missing = [name for name in CONFIG["root_packages"] if not (ROOT / name).is_dir()]
    assert missing == []
