"""Production settings are safe by default; ``check --deploy`` finds nothing to complain about."""

import base64
import json
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


def test_every_job_worker_looks_for_due_jobs_at_the_configured_interval():
    """The bound on a job whose wake-up was missed (procrastinate 3.10 clears it after an
    empty fetch), for every worker however started: procrastinate's own CLI option is left
    unset, so its app's worker defaults apply."""
    code = (
        "import django; django.setup(); from procrastinate.contrib.django import app; "
        "print(app.worker_defaults['fetch_job_polling_interval'])"
    )
    default = _run(_production_env(), "-c", code)
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == ["0.5"]
    chosen = _run(_production_env(NIGRANI_JOB_POLL_SECONDS="2"), "-c", code)
    assert chosen.stdout.split() == ["2.0"]
    refused = _run(_production_env(NIGRANI_JOB_POLL_SECONDS="0"), "-c", code)
    assert refused.returncode != 0
    assert "NIGRANI_JOB_POLL_SECONDS" in refused.stderr


def _without_audit_keys() -> dict[str, str]:
    env = _production_env()
    del env["NIGRANI_AUDIT_SEAL_KEYS"], env["NIGRANI_AUDIT_SIGNING_KEY"]
    return env


def test_the_web_process_settings_load_without_the_audit_keys():
    # compose's web service holds neither key: its settings, checks and app must load.
    env = _without_audit_keys()
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "import backend.asgi; print(json.dumps([s.NIGRANI_AUDIT_SEAL_KEYS, "
        "s.NIGRANI_AUDIT_SIGNING_KEY]))"
    )
    result = _run(env, "-c", code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == ["", ""]
    check = _run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("command", ["audit_sealer", "verify_audit"])
def test_the_sealer_and_verify_refuse_to_start_without_the_audit_keys(command):
    result = _run(
        _without_audit_keys(), "manage.py", command, *(["--once"] * (command == "audit_sealer"))
    )
    assert result.returncode != 0
    assert f"{command} needs NIGRANI_AUDIT_SEAL_KEYS and NIGRANI_AUDIT_SIGNING_KEY" in result.stderr
    assert "no audit seal key configured" in result.stderr
    signing_only = _production_env()
    del signing_only["NIGRANI_AUDIT_SIGNING_KEY"]
    result = _run(signing_only, "manage.py", command, *(["--once"] * (command == "audit_sealer")))
    assert result.returncode != 0
    assert "no audit signing key configured" in result.stderr


def _settings_under(env: dict[str, str], name: str) -> subprocess.CompletedProcess:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps(getattr(settings, {name!r})))"
    )
    return _run(env, "-c", code)


def test_the_s3_checkpoint_sink_is_chosen_by_setting_with_its_own_credentials():
    default = _settings_under(_production_env(), "NIGRANI_AUDIT_CHECKPOINT_SINKS")
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout) == ["file"]

    env = _production_env(
        NIGRANI_AUDIT_CHECKPOINT_SINKS="file,s3",
        NIGRANI_AUDIT_CHECKPOINT_S3_BUCKET="nigrani-audit",
        # The photo store's endpoint and addressing are reused; its credentials are not.
        NIGRANI_S3_ENDPOINT_URL="https://minio.example.pk",
        NIGRANI_S3_ADDRESSING_STYLE="path",
        NIGRANI_S3_ACCESS_KEY_ID="photos-key",
        NIGRANI_S3_SECRET_ACCESS_KEY="photos-secret",
    )
    s3 = _settings_under(env, "NIGRANI_AUDIT_CHECKPOINT_S3")
    assert s3.returncode == 0, s3.stderr
    assert json.loads(s3.stdout) == {
        "bucket": "nigrani-audit",
        "prefix": "checkpoints/",
        "retention_days": 3650,
        "endpoint_url": "https://minio.example.pk",
        "region_name": None,
        "access_key": None,
        "secret_key": None,
        "addressing_style": "path",
    }

    missing = _settings_under(_production_env(NIGRANI_AUDIT_CHECKPOINT_SINKS="s3"), "DEBUG")
    assert missing.returncode != 0
    assert "NIGRANI_AUDIT_CHECKPOINT_S3_BUCKET" in missing.stderr
    unknown = _settings_under(_production_env(NIGRANI_AUDIT_CHECKPOINT_SINKS="file,ftp"), "DEBUG")
    assert unknown.returncode != 0
    assert "NIGRANI_AUDIT_CHECKPOINT_SINKS" in unknown.stderr
