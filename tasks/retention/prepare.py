"""Before the journal: each due object's redacted copy made (or found) and re-scanned, and
every version hashed, its S3 hold read from the same GET (no HEAD of its own). Every read
goes through the storage layer (tasks/retention/reads.py); the copy's PUT is `_upload`.

Runs on the pool's threads (one object per task), each with its own redactor
(engine.thread_redactor: the compiled database is shared, the scratch is per thread).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import tempfile
from datetime import datetime
from typing import Any

from tasks.common.storage import put_object
from tasks.retention.engine import Redactor
from tasks.retention.planner import PlanItem, Version, hold_of, redacted_key
from tasks.retention.reads import CHUNK, download, open_version
from tasks.retention.stream import is_json_name, redact_stream

SPOOL_MAX = 32 * 1024 * 1024  # a log bigger than this spools to a temporary file
SINGLE_PUT_MAX = 16 * 1024 * 1024  # one PutObject (body in memory) up to here, multipart beyond


class _Null(io.RawIOBase):
    def write(self, b: bytes) -> int:  # type: ignore[override]
        return len(b)


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it."""

    def __init__(self, body: Any) -> None:
        self.body, self.digest = body, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        data = self.body.read(n) if n is not None and n >= 0 else self.body.read()
        self.digest.update(data)
        return data

    def readinto(self, buf: Any) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class _KeepOpen(io.RawIOBase):
    """The spool for s3transfer, which closes the file it is given; we read it again."""

    def __init__(self, f: Any) -> None:
        self.f = f

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return self.f.read(n)

    def readinto(self, buf: Any) -> int:
        data = self.f.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def write(self, b: Any) -> int:  # type: ignore[override]
        return self.f.write(b)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.f.seek(offset, whence)

    def tell(self) -> int:
        return self.f.tell()

    def close(self) -> None:  # the spool's own `with` closes it
        pass


def newest_live(item: PlanItem) -> Version | None:
    live = [v for v in item.versions if not v.delete_marker]
    return max(live, key=lambda v: v.last_modified) if live else None


def prepare_raw(
    client,
    item: PlanItem,
    redactor: Redactor,
    copies: set[str],
    *,
    now: datetime | None = None,
) -> tuple[str | None, bool]:
    """Make sure the redacted copy exists and scans clean. (problem or None, created)

    `copies`: the redacted keys known to exist (one listing per user prefix). A copy
    listed but gone since is made again (redaction is deterministic). A copy made now is
    re-scanned from the bytes just uploaded (S3 checks them against their SHA-256), and
    the raw version it was made from is hashed on the way in; a copy left by an earlier
    run is downloaded and re-scanned. With `now`, the raw GET's Object Lock headers are
    the hold check: a held version is reported as the problem before anything is written.
    """
    newest = newest_live(item)
    if newest is None:
        return None, False  # only delete markers left: nothing to copy
    target = redacted_key(item.key)
    with (
        tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as spool,
        tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as raw_spool,
    ):
        if target in copies and download(client, item.bucket, target, spool):
            created = False
        else:
            body, fields = open_version(client, item.bucket, item.key, newest.version_id)
            with contextlib.closing(body):
                hold = hold_of(newest, fields, now) if now else None
                if hold:
                    return hold, False
                raw = _Hashing(body)
                shutil.copyfileobj(raw, raw_spool, CHUNK)
            newest.sha256 = raw.digest.hexdigest()
            raw_spool.seek(0)
            redact_stream(redactor, raw_spool, spool, as_json=is_json_name(item.key))
            _upload(client, item.bucket, target, spool)
            created = True
        spool.seek(0)
        # rescan as plain text: stricter than the JSON pass (sees keys and escaped content too)
        stats = redact_stream(redactor, spool, _Null(), as_json=False)
    if stats.counts:
        return f"redacted copy not clean ({sum(stats.counts.values())} findings)", created
    return None, created


def _upload(client, bucket: str, key: str, spool: Any) -> None:
    """One PutObject (SHA-256 checked by S3) up to SINGLE_PUT_MAX; multipart beyond.

    The body goes as bytes, so the checksum goes as a header, not streamed as a trailer
    (botocore still sends `Expect: 100-continue` with every PutObject body).
    """
    size = spool.tell()
    spool.seek(0)
    if size <= SINGLE_PUT_MAX:
        put_object(client, bucket, key, spool.read())
    else:
        client.upload_fileobj(_KeepOpen(spool), bucket, key)


def hash_versions(
    client, item: PlanItem, now: datetime | None = None, skip: Version | None = None
) -> str | None:
    """SHA-256 of every live version not hashed yet (but `skip`); with `now`, the S3 hold
    each GET response shows, the first one found returned (the rest are then not read)."""
    for v in item.versions:
        if v.delete_marker or v.sha256 or v is skip:  # already hashed while its copy was made
            continue
        body, fields = open_version(client, item.bucket, item.key, v.version_id)
        with contextlib.closing(body):
            if now and (hold := hold_of(v, fields, now)):
                return hold
            digest = hashlib.sha256()
            while chunk := body.read(CHUNK):
                digest.update(chunk)
        v.sha256 = digest.hexdigest()
    return None
