"""docker-compose.yml cannot run here (no Docker engine), so its shape is checked against the
settings module: the services exist, their commands start what make run starts, and every
variable they set is one the settings read, with every production-required one present."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Settings that must be given in production (no default outside development mode).
REQUIRED_IN_PRODUCTION = {
    "DATABASE_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "NIGRANI_ENCRYPTION_KEYS",
    "NIGRANI_BLIND_INDEX_KEY",
    "REDIS_URL",
}
# What seals, signs checkpoints and writes them: only the processes that do that hold it.
AUDIT_SECRETS = {
    "NIGRANI_AUDIT_SEAL_KEYS",
    "NIGRANI_AUDIT_SIGNING_KEY",
    "NIGRANI_AUDIT_CHECKPOINT_S3_ACCESS_KEY_ID",
    "NIGRANI_AUDIT_CHECKPOINT_S3_SECRET_ACCESS_KEY",
}
REQUIRED_AUDIT_KEYS = {"NIGRANI_AUDIT_SEAL_KEYS", "NIGRANI_AUDIT_SIGNING_KEY"}
SEALING_SERVICES = {"sealer", "worker"}  # the worker's minute job seals, its nightly verifies


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_env_names() -> set[str]:
    source = (ROOT / "backend" / "settings.py").read_text()
    return set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', source))


def test_compose_has_its_services_with_health_checks(compose):
    services = compose["services"]
    assert set(services) == {"db", "redis", "migrate", "web", "worker", "sealer"}
    for name, service in services.items():
        if name == "migrate":  # one-shot: the others wait for it to complete successfully
            assert service["restart"] == "no"
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


def test_compose_keeps_state_in_named_volumes(compose):
    named = set(compose["volumes"])
    assert {"pgdata", "redisdata"} <= named
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in named, f"{volume} is not a named volume"


def test_web_serves_the_asgi_app_and_worker_runs_procrastinate(compose):
    web = compose["services"]["web"]
    command = " ".join(web["command"]) if isinstance(web["command"], list) else web["command"]
    assert "uvicorn backend.asgi:application" in command
    assert "migrate" not in command  # the app role may not change the schema
    worker = compose["services"]["worker"]["command"]
    assert worker[-2:] == ["procrastinate", "worker"]
    assert compose["services"]["sealer"]["command"][-1] == "audit_sealer"
    for name in ("web", "worker"):
        depends = compose["services"][name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migrations_run_as_the_owner_and_everything_else_as_the_app_role(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert "manage.py migrate" in migrate["command"][-1]
    assert "grant_app_role nigrani_app" in migrate["command"][-1]
    assert migrate["environment"]["DATABASE_URL"].startswith("postgres://nigrani_owner:")
    for name in ("web", "worker", "sealer"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://nigrani_app:")
    roles = compose["configs"]["db-roles"]["content"]
    assert "CREATE ROLE nigrani_app LOGIN" in roles
    assert "SUPERUSER" not in roles
    assert "ALTER SCHEMA public OWNER TO nigrani_owner" in roles
    db_init = services["db"]["configs"][0]
    assert db_init["target"].startswith("/docker-entrypoint-initdb.d/")


def test_compose_environment_agrees_with_the_settings_module(compose):
    read_by_settings = _settings_env_names()
    assert read_by_settings | {"DATABASE_URL"} >= REQUIRED_IN_PRODUCTION
    for name in ("web", "worker", "sealer", "migrate"):
        env = compose["services"][name]["environment"]
        unknown = set(env) - read_by_settings
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"
        assert set(env) >= REQUIRED_IN_PRODUCTION
        # Production never runs in development mode or with DEBUG on.
        assert "NIGRANI_DEV" not in env
        assert "DJANGO_DEBUG" not in env
        # Secrets have no default: compose refuses to start without them.
        for secret in ("SECRET_KEY", "NIGRANI_ENCRYPTION_KEYS", "NIGRANI_BLIND_INDEX_KEY"):
            assert ":?" in env[secret], f"{secret} must be required, not defaulted"
    assert compose["services"]["web"]["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "@db:5432/" in compose["services"]["web"]["environment"]["DATABASE_URL"]


def test_web_trusts_forwarded_headers_only_from_the_proxy(compose):
    command = " ".join(compose["services"]["web"]["command"])
    assert "--forwarded-allow-ips" in command
    assert "'*'" not in command
    assert compose["services"]["web"]["ports"] == ["127.0.0.1:8000:8000"]


def test_only_the_sealing_processes_hold_the_audit_keys_and_checkpoint_credentials(compose):
    services = compose["services"]
    for name in ("web", "migrate"):
        held = AUDIT_SECRETS & set(services[name]["environment"])
        assert not held, f"{name} must not hold {sorted(held)}"
    for name in SEALING_SERVICES:
        env = services[name]["environment"]
        assert set(env) >= AUDIT_SECRETS, f"{name} cannot seal or sign"
        for key in REQUIRED_AUDIT_KEYS:
            assert ":?" in env[key], f"{name}: {key} must be required, not defaulted"
    # A new service of ours must be put on one side or the other here.
    ours = {name for name, service in services.items() if service.get("build")}
    assert ours == SEALING_SERVICES | {"web", "migrate"}


def test_only_the_sealing_processes_mount_the_checkpoint_file(compose):
    services = compose["services"]
    path = services["sealer"]["environment"]["NIGRANI_AUDIT_CHECKPOINT_PATH"]
    for name, service in services.items():
        mounts = [volume.split(":", 1) for volume in service.get("volumes", [])]
        holds = any(path.startswith(target.split(":")[0]) for _, target in mounts)
        assert holds == (name in SEALING_SERVICES), f"{name} mounts the checkpoint volume"


def test_the_sealer_is_healthy_only_while_checkpoints_are_published(compose):
    test = compose["services"]["sealer"]["healthcheck"]["test"]
    assert test[-2:] == ["manage.py", "audit_checkpoint_status"]
