"""Signed checkpoints in an S3-compatible store with object lock (the one boto3 adapter of the
audit trail).

Each checkpoint is a new object ``<prefix><number, 12 digits>.json`` written with Object Lock
in COMPLIANCE mode until now + the retention: for that long nobody, the bucket's owner and the
store's root account included, can delete that version or shorten its lock. The publisher
never writes a key twice (``If-None-Match: *``: a second write of a number fails, and the
loser signs again after the winner, so two publishers cannot fork the chain).

Whoever holds write credentials can still, in S3's model, add a *new version* of a key or a
*delete marker* over it; neither touches the locked version. So reading lists every version:
a key's first version is the checkpoint, and any later version or delete marker is reported
as what it is, an attempt to overwrite or delete a published checkpoint.
"""

import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from audit.checkpoints import CheckpointConflict, SinkReading

_NUMBER_DIGITS = 12
_READ_THREADS = 8  # a verification GETs every object; in parallel, boto3 clients are threadsafe
LOCK_MODE = "COMPLIANCE"


def _client_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Sink:
    """One locked object per checkpoint under ``prefix`` in ``bucket`` (which must have been
    created with object lock enabled: S3 turns it on only at creation)."""

    name = "s3"
    unit = "object"

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        retention_days: int,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing_style: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.retention = timedelta(days=retention_days)
        self._pattern = re.compile(rf"^{re.escape(prefix)}(\d{{{_NUMBER_DIGITS}}})\.json$")
        config = Config(
            connect_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
            # A few quick retries of a flaky store here; the sealer retries a failed publish
            # with a backoff of its own, and reports it (audit.services).
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": addressing_style} if addressing_style else None,
            # Object lock requires an integrity checksum on every PUT.
            request_checksum_calculation="when_supported",
        )
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region_name,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )
        self._last: tuple[int, str] | None = None  # the newest entry this process knows of

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, number: int) -> str:
        return f"{self.prefix}{number:0{_NUMBER_DIGITS}d}.json"

    def where(self, number: int) -> str:
        return f"checkpoint object {number} ({self.describe()}{number:0{_NUMBER_DIGITS}d}.json)"

    def _number(self, key: str) -> int | None:
        match = self._pattern.match(key)
        return int(match.group(1)) if match else None

    # --- publishing -----------------------------------------------------------------------

    def locked(self) -> AbstractContextManager[None]:
        # No lock: the conditional write in append() is what keeps publishers in line.
        return nullcontext()

    def _get(self, key: str, version_id: str | None = None) -> dict[str, Any]:
        kwargs = {"VersionId": version_id} if version_id else {}
        return self.client.get_object(Bucket=self.bucket, Key=key, **kwargs)

    def last_line(self) -> str | None:
        """The newest checkpoint: from memory after this process's first publish (the list
        then only starts after it), so a publish costs one small list and one PUT."""
        start_after = self.key(self._last[0]) if self._last else ""
        newest = None
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, StartAfter=start_after
        ):
            for item in page.get("Contents", []):
                number = self._number(item["Key"])
                if number is not None and (newest is None or number > newest):
                    newest = number
        if newest is not None:
            body = self._get(self.key(newest))["Body"].read().decode()
            self._last = (newest, body.strip())
        return self._last[1] if self._last else None

    def append(self, line: str) -> None:
        """Write the next number, locked; never over an existing key (CheckpointConflict)."""
        number = self._last[0] + 1 if self._last else 1
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(number),
                Body=(line + "\n").encode(),
                ContentType="application/json",
                IfNoneMatch="*",
                ObjectLockMode=LOCK_MODE,
                ObjectLockRetainUntilDate=datetime.now(UTC) + self.retention,
            )
        except ClientError as exc:
            if _client_error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                self._last = None  # another publisher wrote it: list again from the start
                raise CheckpointConflict(self.where(number)) from exc
            raise
        self._last = (number, line)

    # --- reading back ---------------------------------------------------------------------

    def read(self) -> SinkReading:
        """Every checkpoint (each key's first version) in number order, and what else the
        store holds under the prefix: later versions (overwrite attempts), delete markers
        (delete attempts), versions that are not locked in COMPLIANCE mode."""
        versions: dict[int, list[dict[str, Any]]] = {}
        markers: dict[int, int] = {}
        seen_any = False
        for page in self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Versions", []):
                seen_any = True
                number = self._number(item["Key"])
                if number is not None:
                    versions.setdefault(number, []).append(item)
            for item in page.get("DeleteMarkers", []):
                seen_any = True
                number = self._number(item["Key"])
                if number is not None:
                    markers[number] = markers.get(number, 0) + 1
        if not seen_any:
            return SinkReading(None)
        problems: list[str] = []
        firsts: dict[int, dict[str, Any]] = {}
        for number, listed in versions.items():
            # By time, oldest first; S3 lists a key's versions newest first, which breaks ties
            # (LastModified has whole seconds).
            order = sorted(range(len(listed)), key=lambda i: (listed[i]["LastModified"], -i))
            items = [listed[i] for i in order]
            firsts[number] = items[0]
            if len(items) > 1:
                problems.append(
                    f"{self.where(number)}: written again {len(items) - 1} times after it was "
                    "published (an overwrite attempt; the first, locked version is read)"
                )
        for number, count in sorted(markers.items()):
            problems.append(
                f"{self.where(number)}: {count} delete markers placed over it (a delete "
                "attempt; the locked version is still read)"
            )

        def fetch(number: int) -> tuple[int, str, str]:
            response = self._get(self.key(number), firsts[number]["VersionId"])
            return (
                number,
                response["Body"].read().decode().strip(),
                response.get("ObjectLockMode", ""),
            )

        with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
            fetched = sorted(pool.map(fetch, firsts))
        entries = []
        for number, text, mode in fetched:
            if mode != LOCK_MODE:
                problems.append(
                    f"{self.where(number)}: not locked in {LOCK_MODE} mode ({mode or 'no lock'}"
                    "): it could be deleted or replaced (is object lock on for the bucket?)"
                )
            entries.append((number, text))
        return SinkReading(entries, problems)
