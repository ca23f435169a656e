"""Production settings are safe by default; ``check --deploy`` finds nothing to complain about."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NIGRANI_", "DJANGO_", "SECRET_KEY", "ALLOWED_HOSTS"))
    }
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1/postgres"),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="nigrani.example.pk",
        NIGRANI_ENCRYPTION_KEYS=f"k1:{key}",
        NIGRANI_BLIND_INDEX_KEY=base64.b64encode(secrets.token_bytes(32)).decode(),
        NIGRANI_AUDIT_SEAL_KEYS=f"s1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
        NIGRANI_AUDIT_SIGNING_KEY=f"c1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
    )
    env.update(overrides)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings():
    result = _run(_production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_safe():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.ALLOWED_HOSTS, s.DEV_MODE)"
    )
    result = _run(_production_env(), "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "True", "True", "True", "31536000", "['nigrani.example.pk']", "False"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "NIGRANI_ENCRYPTION_KEYS",
        "NIGRANI_BLIND_INDEX_KEY",
        "NIGRANI_AUDIT_SEAL_KEYS",
        "NIGRANI_AUDIT_SIGNING_KEY",
    ],
)
def test_production_refuses_to_start_without_a_secret(missing):
    env = _production_env()
    del env[missing]
    result = _run(env, "-c", "import django; django.setup()")
    assert result.returncode != 0
    assert missing in result.stderr


def test_seed_demo_refuses_outside_development_mode():
    result = _run(_production_env(), "manage.py", "seed_demo")
    assert result.returncode != 0
    assert "NIGRANI_DEV" in result.stderr


@pytest.mark.parametrize(
    "name", ["NIGRANI_ALERT_EVENT_RETENTION_DAYS", "NIGRANI_PUSH_RETENTION_DAYS"]
)
def test_a_retention_of_less_than_a_day_is_refused(name):
    """A zero retention would prune the alert stream (or the push outbox) as it is written."""
    result = _run(_production_env(**{name: "0"}), "-c", "import django; django.setup()")
    assert result.returncode != 0
    assert name in result.stderr
