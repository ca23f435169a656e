"""The sealer process killed in the middle of a batch: nothing sealed half-way, nothing lost,
nothing sealed twice when it (or another) runs again."""

import os
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from audit.models import AuditAction, AuditSeal, SealKind
from audit.services import audit_record, audit_seal
from tests.helpers import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _sealer_env(tmp_path: Path) -> dict[str, str]:
    url = database_url()
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings_test",
        "DATABASE_URL": url,
        "NIGRANI_AUDIT_CHECKPOINT_PATH": str(tmp_path / "sealer-checkpoints.jsonl"),
    }


def _waiting_sealer_pid(deadline: float) -> int:
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO \"audit_auditseal\"%%'"
            )
            row = cursor.fetchone()
        if row:
            return row[0]
        time.sleep(0.05)
    raise AssertionError("the sealer never reached its insert")


def test_sealer_killed_mid_batch_leaves_nothing_and_the_next_run_seals_everything_once(
    tmp_path,
):
    audit_seal()  # the anchor exists: the run below blocks on its batch's seal, not the anchor
    assert AuditSeal.objects.get().kind == SealKind.LEGACY
    events = [
        audit_record(actor=None, username="w", action=AuditAction.READ, object_id=n)
        for n in range(30)
    ]
    locked, release = threading.Event(), threading.Event()

    def block_seal_inserts() -> None:
        # SHARE conflicts with the INSERT's ROW EXCLUSIVE: the sealer stops inside its batch,
        # after reading and digesting the events, before its seal row exists.
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("LOCK TABLE audit_auditseal IN SHARE MODE")
                locked.set()
                release.wait(timeout=60)
        finally:
            connections.close_all()

    blocker = threading.Thread(target=block_seal_inserts)
    blocker.start()
    assert locked.wait(timeout=30)
    sealer = subprocess.Popen(
        [sys.executable, "manage.py", "audit_sealer", "--once"],
        cwd=ROOT,
        env=_sealer_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        backend_pid = _waiting_sealer_pid(time.monotonic() + 60)
        sealer.kill()  # SIGKILL: no cleanup of any kind
        sealer.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid])
                if cursor.fetchone() is None:
                    break
                time.sleep(0.05)
    finally:
        release.set()
        blocker.join(timeout=30)

    assert not AuditSeal.objects.filter(kind=SealKind.BATCH).exists()
    deadline = time.monotonic() + 30
    while audit_seal() is None or AuditSeal.objects.order_by("-seq")[0].total_events < 30:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    seals = list(AuditSeal.objects.filter(kind=SealKind.BATCH))
    assert sum(seal.event_count for seal in seals) == len(events)
    assert audit_seal() is None
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "audit trail OK: 30 events (0 in the old chain, 30 in newer seals" in out.getvalue()
