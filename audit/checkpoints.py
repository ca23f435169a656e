"""Signed checkpoints of the sealed head, kept outside the database (pure: no Django).

A checkpoint says "at ``published_at`` the trail's newest seal was ``seq`` with MAC ``mac``,
covering ``total_events`` events", signed with Ed25519. Each line also names the SHA-256 of the
line before it, so lines cannot be removed or reordered unnoticed. The default sink is an
append-only JSON-lines file (put it on another machine's mount, or a WORM volume, to keep it
out of the database owner's reach); whoever can roll the database back cannot roll this back
with it, and whoever can rewrite it cannot sign.
"""

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.keys import CheckpointKeys

CHECKPOINT_GENESIS = "0" * 64
CHECKPOINT_VERSION = 1


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode()).hexdigest()


def checkpoint_line(*, body: dict[str, Any], keys: CheckpointKeys) -> str:
    """One signed line (no newline) for ``body``, which must already name ``prev``."""
    return json.dumps(
        {"body": body, "kid": keys.signing_kid, "sig": keys.sign(_canonical(body))},
        sort_keys=True,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class Checkpoint:
    line_no: int
    seq: int
    mac: str
    total_events: int
    published_at: str


@dataclass(frozen=True)
class CheckpointReading:
    checkpoints: list[Checkpoint]
    problems: list[str]


def checkpoints_read(lines: list[str], *, keys: CheckpointKeys) -> CheckpointReading:
    """Check every line's signature and link; return the readable checkpoints and, by line
    number, what is wrong with the others."""
    problems: list[str] = []
    checkpoints: list[Checkpoint] = []
    prev = CHECKPOINT_GENESIS
    for line_no, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            body, kid, sig = record["body"], record["kid"], record["sig"]
            seq, mac, total = int(body["seq"]), str(body["mac"]), int(body["total_events"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"checkpoint line {line_no}: unreadable (the file was edited)")
            prev = line_hash(line)
            continue
        if kid not in keys.verify_keys:
            problems.append(
                f"checkpoint line {line_no}: signed by unknown key {str(kid)[:32]!r} "
                "(not one of this deployment's checkpoint keys)"
            )
        elif not keys.verify(kid, _canonical(body), sig):
            problems.append(
                f"checkpoint line {line_no}: signature invalid for key {kid!r} "
                "(the line was edited, or signed by another key)"
            )
        else:
            if body.get("prev") != prev:
                problems.append(
                    f"checkpoint line {line_no}: does not follow line {line_no - 1} "
                    "(lines removed, reordered or inserted)"
                )
            checkpoints.append(
                Checkpoint(line_no, seq, mac, total, str(body.get("published_at", "")))
            )
        prev = line_hash(line)
    return CheckpointReading(checkpoints, problems)


class FileSink:
    """An append-only JSON-lines file; one writer at a time (an exclusive ``flock``)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def read_lines(self) -> list[str] | None:
        """Every line, or None when there is no file at all."""
        if not self.path.exists():
            return None
        return [line for line in self.path.read_text().splitlines() if line.strip()]

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def last_line(self) -> str | None:
        if not self.path.exists():
            return None
        with open(self.path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 8192))
            tail = handle.read().decode(errors="replace").splitlines()
        tail = [line for line in tail if line.strip()]
        return tail[-1] if tail else None

    def append(self, line: str) -> None:
        # O_APPEND: every write lands at the end; fsync so a published checkpoint survives a
        # crash of this machine.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def checkpoint_append(
    sink: FileSink, *, keys: CheckpointKeys, head: dict[str, Any], published_at: str
) -> str:
    """Sign the head (``seq``, ``mac``, ``total_events``, ``txid_hi``) and append it after the
    sink's last line, under the sink's lock so two publishers cannot fork the line chain."""
    with sink.locked():
        last = sink.last_line()
        body = {
            "v": CHECKPOINT_VERSION,
            "seq": head["seq"],
            "mac": head["mac"],
            "total_events": head["total_events"],
            "txid_hi": head["txid_hi"],
            "published_at": published_at,
            "prev": line_hash(last) if last else CHECKPOINT_GENESIS,
        }
        line = checkpoint_line(body=body, keys=keys)
        sink.append(line)
    return line


def settings_checkpoint_sink() -> FileSink:
    from django.conf import settings

    return FileSink(settings.NIGRANI_AUDIT_CHECKPOINT_PATH)
