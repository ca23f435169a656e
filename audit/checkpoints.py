"""Signed checkpoints of the sealed head, kept outside the database (pure: no Django).

A checkpoint says "at ``published_at`` the trail's newest seal was ``seq`` with MAC ``mac``,
covering ``total_events`` events", signed with Ed25519. Each entry also names the SHA-256 of
the entry before it, so entries cannot be removed or reordered unnoticed. Whoever can roll the
database back cannot roll a sink back with it, and whoever can rewrite a sink cannot sign.

A sink is where checkpoints go (``CheckpointSink``): an append-only JSON-lines file by default
(``FileSink``; put it on another machine's mount, or a WORM volume), and an S3-compatible store
with object lock by setting (``audit/checkpoint_s3.py``: one locked object per checkpoint).
``checkpoint_append`` is the one place that writes to a sink, ``checkpoints_read`` the one
place that checks what a sink gives back, and ``settings_checkpoint_sinks`` the one place that
says which sinks a deployment has.
"""

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    line_no: int  # the entry's number in its sink: a file's line, an S3 object's number
    seq: int
    mac: str
    total_events: int
    published_at: str
    where: str = ""  # how reports name it: "checkpoint line 3", "checkpoint object 3 (…)"

    def __post_init__(self) -> None:
        if not self.where:
            object.__setattr__(self, "where", f"checkpoint line {self.line_no}")


@dataclass(frozen=True)
class CheckpointReading:
    checkpoints: list[Checkpoint]
    problems: list[str]


@dataclass(frozen=True)
class SinkReading:
    """What a sink holds: its entries as ``(number, text)`` in order (None: nothing there at
    all, not even an empty file or prefix), and what the store itself shows was tried on them
    (an S3 object written again, a delete marker placed)."""

    entries: list[tuple[int, str]] | None
    problems: list[str] = field(default_factory=list)


class CheckpointConflict(Exception):
    """Another publisher took the entry number this one meant to write: read the last entry
    again and sign a new one after it (so two publishers never fork the chain)."""


class CheckpointSink(Protocol):
    """Where signed checkpoints are published and read back from."""

    name: str  # the word in NIGRANI_AUDIT_CHECKPOINT_SINKS: "file", "s3"
    unit: str  # what one entry is called in reports: "line", "object"

    def describe(self) -> str: ...
    def where(self, number: int) -> str: ...
    def read(self) -> SinkReading: ...
    def locked(self) -> AbstractContextManager[None]: ...
    def last_line(self) -> str | None: ...
    def append(self, line: str) -> None: ...


def checkpoints_read(
    entries: list[tuple[int, str]] | list[str],
    *,
    keys: CheckpointKeys,
    where: Callable[[int], str] | None = None,
    unit: str = "line",
) -> CheckpointReading:
    """Check every entry's signature and link; return the readable checkpoints and, by entry
    number, what is wrong with the others. ``entries`` are ``(number, text)`` pairs, or bare
    lines numbered from 1; ``where`` names entry N in the report (default "checkpoint line N")."""
    name = where or (lambda number: f"checkpoint {unit} {number}")
    numbered = [
        entry if isinstance(entry, tuple) else (number, entry)
        for number, entry in enumerate(entries, start=1)
    ]
    problems: list[str] = []
    checkpoints: list[Checkpoint] = []
    prev = CHECKPOINT_GENESIS
    previous_number = 0
    for line_no, line in numbered:
        label = name(line_no)
        try:
            record = json.loads(line)
            body, kid, sig = record["body"], record["kid"], record["sig"]
            seq, mac, total = int(body["seq"]), str(body["mac"]), int(body["total_events"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"{label}: unreadable (the {unit} was edited)")
            prev, previous_number = line_hash(line), line_no
            continue
        if kid not in keys.verify_keys:
            problems.append(
                f"{label}: signed by unknown key {str(kid)[:32]!r} "
                "(not one of this deployment's checkpoint keys)"
            )
        elif not keys.verify(kid, _canonical(body), sig):
            problems.append(
                f"{label}: signature invalid for key {kid!r} "
                f"(the {unit} was edited, or signed by another key)"
            )
        else:
            if body.get("prev") != prev or line_no != previous_number + 1:
                problems.append(
                    f"{label}: does not follow {unit} {line_no - 1} "
                    f"({unit}s removed, reordered or inserted)"
                )
            checkpoints.append(
                Checkpoint(line_no, seq, mac, total, str(body.get("published_at", "")), label)
            )
        prev, previous_number = line_hash(line), line_no
    return CheckpointReading(checkpoints, problems)


class FileSink:
    """An append-only JSON-lines file; one writer at a time (an exclusive ``flock``)."""

    name = "file"
    unit = "line"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def where(self, number: int) -> str:
        return f"checkpoint line {number}"

    def read_lines(self) -> list[str] | None:
        """Every line, or None when there is no file at all."""
        if not self.path.exists():
            return None
        return [line for line in self.path.read_text().splitlines() if line.strip()]

    def read(self) -> SinkReading:
        lines = self.read_lines()
        return SinkReading(None if lines is None else list(enumerate(lines, start=1)))

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


# A publisher that loses the race for an entry number this often in a row gives up (and the
# failure is reported and retried like any other).
_CONFLICT_TRIES = 5


def checkpoint_append(
    sink: CheckpointSink, *, keys: CheckpointKeys, head: dict[str, Any], published_at: str
) -> str:
    """Sign the head (``seq``, ``mac``, ``total_events``, ``txid_hi``) and append it after the
    sink's last entry: under the file's lock, or (S3) as a write that fails if another
    publisher took that entry first, in which case it signs again after the new last entry.
    Either way two publishers cannot fork the chain."""
    for _ in range(_CONFLICT_TRIES):
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
            try:
                sink.append(line)
            except CheckpointConflict:
                continue
        return line
    raise CheckpointConflict(f"{sink.describe()}: lost the race for the next entry 5 times")


_sinks: dict[tuple[str, str], CheckpointSink] = {}


def settings_checkpoint_sinks() -> list[CheckpointSink]:
    """The sinks ``NIGRANI_AUDIT_CHECKPOINT_SINKS`` names, in its order: every checkpoint is
    published to each, and ``verify_audit`` reads each back. Kept per configuration, so an S3
    sink remembers its newest object between publishes (one short list, not a full one)."""
    from django.conf import settings

    sinks: list[CheckpointSink] = []
    for name in settings.NIGRANI_AUDIT_CHECKPOINT_SINKS:
        if name == "file":
            config = str(settings.NIGRANI_AUDIT_CHECKPOINT_PATH)
        elif name == "s3":
            config = json.dumps(settings.NIGRANI_AUDIT_CHECKPOINT_S3, sort_keys=True)
        else:
            raise ValueError(f"unknown audit checkpoint sink {name!r}")
        sink = _sinks.get((name, config))
        if sink is None:
            if name == "file":
                sink = FileSink(settings.NIGRANI_AUDIT_CHECKPOINT_PATH)
            else:
                from audit.checkpoint_s3 import S3Sink

                sink = S3Sink(**settings.NIGRANI_AUDIT_CHECKPOINT_S3)
            _sinks[(name, config)] = sink
        sinks.append(sink)
    return sinks
