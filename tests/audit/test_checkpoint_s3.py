"""Signed checkpoints in an S3-compatible store with object lock: moto's S3 server on
127.0.0.1 (a fake of the external store; it honours object lock, versions and conditional
writes), our sinks, publisher, verifier and sealer for real."""

import logging
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from moto.server import ThreadedMotoServer

from audit.checkpoint_s3 import S3Sink
from audit.checkpoints import (
    CheckpointConflict,
    checkpoint_append,
    checkpoint_line,
    line_hash,
    settings_checkpoint_sinks,
)
from audit.keys import settings_checkpoint_keys
from audit.management.commands.audit_sealer import _Publisher
from audit.models import AuditAction, CheckpointPublication
from audit.selectors import checkpoint_publication_health
from audit.services import (
    CheckpointPublishError,
    audit_checkpoint_publish,
    audit_record,
    audit_seal,
)
from common.health import CheckFailed
from tests.audit.helpers import owner_access, raw_execute
from tests.helpers import database_url

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "nigrani-audit-test"
PREFIX = "checkpoints/"
RETENTION_DAYS = 7
ROOT = Path(__file__).resolve().parents[2]
# The sealer's own credentials for the bucket (moto takes any): never in a log line.
ACCESS_KEY = "AKIASEALERONLY00001"
SECRET_KEY = "sealer-only-secret-do-not-log"  # noqa: S105 - the fake store's


@pytest.fixture(scope="module")
def s3_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the fake store's
    )


def _s3_config(endpoint: str, bucket: str) -> dict:
    return {
        "bucket": bucket,
        "prefix": PREFIX,
        "retention_days": RETENTION_DAYS,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "addressing_style": "path",
    }


@pytest.fixture
def s3(s3_endpoint, settings, request):
    """A fresh bucket with object lock on, and the S3 sink as the only one: what verify_audit
    finds comes from the store alone."""
    bucket = f"{BUCKET}-{abs(hash(request.node.name)) % 10**8}"
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    settings.NIGRANI_AUDIT_CHECKPOINT_SINKS = ["s3"]
    settings.NIGRANI_AUDIT_CHECKPOINT_S3 = _s3_config(s3_endpoint, bucket)
    client.bucket = bucket
    return client


def _trail(batches: int = 3, per_batch: int = 10) -> None:
    for batch in range(batches):
        for n in range(per_batch):
            audit_record(
                actor=None,
                username="io",
                action=AuditAction.READ,
                object_type="offender",
                object_id=batch * per_batch + n,
            )
        assert audit_seal() is not None


def _keys(client) -> list[str]:
    listed = client.list_objects_v2(Bucket=client.bucket, Prefix=PREFIX)
    return [item["Key"] for item in listed.get("Contents", [])]


def _verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def _broken() -> str:
    with pytest.raises(CommandError) as excinfo:
        _verify()
    return str(excinfo.value)


def test_each_checkpoint_is_a_new_object_locked_in_compliance_mode(s3):
    _trail()
    before = datetime.now(UTC)
    audit_checkpoint_publish()
    audit_checkpoint_publish()  # the next minute's, same head: a second object, not a rewrite

    assert _keys(s3) == [f"{PREFIX}000000000001.json", f"{PREFIX}000000000002.json"]
    for key in _keys(s3):
        head = s3.head_object(Bucket=s3.bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        retain = head["ObjectLockRetainUntilDate"]
        assert before + timedelta(days=RETENTION_DAYS) - timedelta(minutes=1) <= retain
        assert retain <= datetime.now(UTC) + timedelta(days=RETENTION_DAYS, minutes=1)
        versions = s3.list_object_versions(Bucket=s3.bucket, Prefix=key)["Versions"]
        assert len(versions) == 1  # written once
    assert "audit trail OK: 30 events" in _verify()
    assert "2 signed checkpoints" in _verify()


def test_the_store_refuses_to_delete_or_overwrite_a_locked_checkpoint(s3):
    _trail(batches=1)
    audit_checkpoint_publish()
    key = f"{PREFIX}000000000001.json"
    (version,) = s3.list_object_versions(Bucket=s3.bucket, Prefix=key)["Versions"]

    with pytest.raises(ClientError) as deleted:
        s3.delete_object(Bucket=s3.bucket, Key=key, VersionId=version["VersionId"])
    assert deleted.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as bypassed:
        s3.delete_object(
            Bucket=s3.bucket,
            Key=key,
            VersionId=version["VersionId"],
            BypassGovernanceRetention=True,
        )
    assert bypassed.value.response["Error"]["Code"] == "AccessDenied"
    # The publisher's own write of a taken number is refused too (If-None-Match).
    with pytest.raises(ClientError) as again:
        s3.put_object(Bucket=s3.bucket, Key=key, Body=b"{}", IfNoneMatch="*")
    assert again.value.response["Error"]["Code"] == "PreconditionFailed"
    body = s3.get_object(Bucket=s3.bucket, Key=key, VersionId=version["VersionId"])["Body"]
    assert b'"seq":2' in body.read()
    assert "audit trail OK" in _verify()


def test_a_new_version_or_delete_marker_over_a_checkpoint_is_named_and_the_original_read(s3):
    _trail()
    audit_checkpoint_publish()
    first = f"{PREFIX}000000000001.json"
    # Whoever holds write credentials: S3 lets them stack a version (a forged, lower head)
    # and a delete marker over the locked one, never remove or change it.
    s3.put_object(Bucket=s3.bucket, Key=first, Body=b'{"body":{"seq":1}}')
    s3.delete_object(Bucket=s3.bucket, Key=first)

    message = _broken()
    assert "checkpoint object 1 (s3://" in message
    assert "written again 1 times after it was published (an overwrite attempt" in message
    assert "1 delete markers placed over it (a delete attempt" in message
    assert "unreadable" not in message  # the locked, first version is what was read
    assert "signature invalid" not in message


def test_verify_audit_detects_truncation_from_the_s3_checkpoints(s3):
    _trail()
    audit_checkpoint_publish()
    assert not Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH).exists()  # the store alone
    with owner_access():
        raw_execute("TRUNCATE audit_auditevent, audit_auditseal")

    message = _broken()
    assert f"checkpoint object 1 (s3://{s3.bucket}/{PREFIX}000000000001.json)" in message
    assert "names seal 4 covering 30 events, but the database's newest seal is none" in message


def test_verify_audit_names_the_newest_seals_deleted_from_the_s3_checkpoints(s3):
    _trail()
    audit_checkpoint_publish()
    with owner_access():
        raw_execute("DELETE FROM audit_auditevent WHERE id IN (SELECT id FROM audit_auditevent"
                    " ORDER BY id DESC LIMIT 10)")  # fmt: skip
        raw_execute("DELETE FROM audit_auditseal WHERE seq = 4")
    message = _broken()
    assert "names seal 4 covering 30 events, but the database's newest seal is 3 covering 20" in (
        message
    )
    assert "seals 4–4 and 10 events are missing" in message


def _dead_endpoint() -> str:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_failed_publish_is_reported_logged_and_visible_in_readyz(s3, settings, caplog, client):
    settings.NIGRANI_AUDIT_CHECKPOINT_SINKS = ["file", "s3"]
    working = settings.NIGRANI_AUDIT_CHECKPOINT_S3
    settings.NIGRANI_AUDIT_CHECKPOINT_S3 = {**working, "endpoint_url": _dead_endpoint()}
    _trail(batches=1)

    with (
        caplog.at_level(logging.ERROR, logger="audit.services"),
        pytest.raises(CheckpointPublishError) as failed,
    ):
        audit_checkpoint_publish()
    assert set(failed.value.failed) == {"s3"}
    assert failed.value.failed["s3"] == "EndpointConnectionError"
    assert set(failed.value.published) == {"file"}  # the other sink still took it
    assert len(Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH).read_text().splitlines()) == 1
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith("audit checkpoint of seal 2 NOT published to s3 (s3://")
    assert ACCESS_KEY not in caplog.text
    assert SECRET_KEY not in caplog.text
    row = CheckpointPublication.objects.get(sink="s3")
    assert row.failing_since is not None
    assert row.failures == 1
    assert CheckpointPublication.objects.get(sink="file").failing_since is None

    response = client.get("/readyz")
    assert response.status_code == 200  # the web can still serve; the sealer's check fails
    body = response.json()
    assert body["degraded"] == ["audit_checkpoints"]
    assert body["checks"]["audit_checkpoints"].startswith(
        "error: checkpoints not published: s3 failing since"
    )
    assert "(1 attempts, EndpointConnectionError)" in body["checks"]["audit_checkpoints"]
    with pytest.raises(CommandError, match="s3 failing since"):
        call_command("audit_checkpoint_status", stdout=StringIO())

    settings.NIGRANI_AUDIT_CHECKPOINT_S3 = working
    audit_checkpoint_publish(only={"s3"})  # the retry, of the failed sink alone
    assert len(Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH).read_text().splitlines()) == 1
    assert _keys(s3) == [f"{PREFIX}000000000001.json"]
    assert re.fullmatch(
        r"ok \(file \d+ s ago, s3 \d+ s ago\)",
        client.get("/readyz").json()["checks"]["audit_checkpoints"],
    )
    assert "degraded" not in client.get("/readyz").json()


def test_the_sealer_retries_a_failed_sink_alone_with_backoff_until_it_takes_one(s3, settings):
    settings.NIGRANI_AUDIT_CHECKPOINT_SINKS = ["file", "s3"]
    working = settings.NIGRANI_AUDIT_CHECKPOINT_S3
    settings.NIGRANI_AUDIT_CHECKPOINT_S3 = {**working, "endpoint_url": _dead_endpoint()}
    _trail(batches=1)
    lines = Path(settings.NIGRANI_AUDIT_CHECKPOINT_PATH)
    publisher = _Publisher(every=60)

    publisher.tick(0.0)  # the minute's publish: file takes it, s3 fails
    assert publisher.retry == {"s3"}
    publisher.tick(0.5)  # not yet: backoff 1 s
    publisher.tick(1.0)  # the s3 sink alone, failing again: backoff doubles
    assert CheckpointPublication.objects.get(sink="s3").failures == 2
    assert publisher.retry_at == 3.0
    assert len(lines.read_text().splitlines()) == 1  # the file was not written again
    settings.NIGRANI_AUDIT_CHECKPOINT_S3 = working
    publisher.tick(2.0)
    assert _keys(s3) == []
    publisher.tick(3.0)
    assert _keys(s3) == [f"{PREFIX}000000000001.json"]
    assert publisher.retry == set()
    assert len(lines.read_text().splitlines()) == 1
    assert checkpoint_publication_health().startswith("ok (file")
    publisher.tick(61.0)  # the next minute: both again
    assert len(lines.read_text().splitlines()) == 2
    assert len(_keys(s3)) == 2


def test_two_publishers_never_fork_the_chain(s3, s3_endpoint):
    _trail(batches=1)
    audit_checkpoint_publish()  # object 1
    other = S3Sink(**_s3_config(s3_endpoint, s3.bucket))  # another process's sink
    seen = other.last_line()  # it reads object 1 as the newest ...
    audit_checkpoint_publish()  # ... the first publisher writes object 2 meanwhile ...
    head = {"seq": 2, "mac": "m" * 64, "total_events": 10, "txid_hi": 1}
    forked = checkpoint_line(
        body={**head, "v": 1, "published_at": "x", "prev": line_hash(seen)},
        keys=settings_checkpoint_keys(),
    )
    with pytest.raises(CheckpointConflict):  # ... so its write of 2 is refused by the store
        other.append(forked)
    assert len(s3.list_object_versions(Bucket=s3.bucket, Prefix=PREFIX)["Versions"]) == 2

    # The publisher's way: on the refusal it reads again and signs after 2, as object 3.
    checkpoint_append(other, keys=settings_checkpoint_keys(), head=head, published_at="x")
    assert _keys(s3)[-1] == f"{PREFIX}000000000003.json"
    problems = _broken()
    assert "does not follow" not in problems  # one unbroken chain of three objects
    assert "written again" not in problems
    assert "seal 2 differs from checkpoint object 3" in problems  # the fake head, caught


def test_no_checkpoint_in_the_store_is_named_once_sealing_is_old(s3):
    _trail(batches=1)
    (sink,) = settings_checkpoint_sinks()
    assert sink.read().entries is None
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=10)):
        assert f"no signed checkpoint at s3://{s3.bucket}/{PREFIX}" in _broken()


def test_health_without_any_publish_yet_is_ok():
    assert checkpoint_publication_health() == "ok (file none yet)"


def test_a_stale_sink_fails_the_health_check():
    now = datetime.now(UTC)
    CheckpointPublication.objects.create(
        sink="file", last_published_at=now - timedelta(minutes=5), last_seq=3
    )
    with pytest.raises(CheckFailed, match="file last published 300 s ago"):
        checkpoint_publication_health(now=now)


def test_the_sealer_process_publishes_to_s3_from_its_environment(s3, s3_endpoint, tmp_path):
    _trail(batches=1)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backend.settings_test",
        "DATABASE_URL": database_url(),
        "NIGRANI_AUDIT_CHECKPOINT_SINKS": "file,s3",
        "NIGRANI_AUDIT_CHECKPOINT_PATH": str(tmp_path / "sealer.jsonl"),
        "NIGRANI_AUDIT_CHECKPOINT_S3_BUCKET": s3.bucket,
        "NIGRANI_AUDIT_CHECKPOINT_S3_RETENTION_DAYS": "1",
        "NIGRANI_S3_ENDPOINT_URL": s3_endpoint,  # the photo store's endpoint, reused
        "NIGRANI_S3_REGION": "us-east-1",
        "NIGRANI_S3_ADDRESSING_STYLE": "path",
        "NIGRANI_AUDIT_CHECKPOINT_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "NIGRANI_AUDIT_CHECKPOINT_S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    command = [sys.executable, "manage.py", "audit_sealer", "--once"]
    ran = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    (key,) = _keys(s3)
    head = s3.head_object(Bucket=s3.bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] < datetime.now(UTC) + timedelta(days=1, minutes=5)

    down = {**env, "NIGRANI_S3_ENDPOINT_URL": _dead_endpoint()}
    failed = subprocess.run(
        command, cwd=ROOT, env=down, capture_output=True, text=True, timeout=120
    )
    assert failed.returncode != 0
    assert "checkpoint not published to s3" in failed.stderr
    assert "NOT published to s3" in failed.stderr  # the log line, sink and error class
    assert ACCESS_KEY not in failed.stderr
    assert SECRET_KEY not in failed.stderr
    assert len((tmp_path / "sealer.jsonl").read_text().splitlines()) == 2  # file took both
