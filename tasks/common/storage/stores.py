"""The stores: one interface over a local folder and an S3 bucket (optionally under a
prefix), with the same relative keys (see the package docstring)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from tasks.common.errors import InputError, StorageError
from tasks.common.safepath import safe_join, safe_relative

from .objects import PAGE_SIZE, ObjectVersion, iter_objects, iter_versions
from .puts import put_locked
from .rules import check_key, check_prefix, error_code, http_status, is_not_found

LOCK_FIELDS = (
    "ObjectLockMode",
    "ObjectLockRetainUntilDate",
    "ObjectLockLegalHoldStatus",
    "LastModified",
)
CHUNK = 1 << 20


class Store:
    """A tree of objects under relative keys (see the module docstring)."""

    online = False
    label = ""
    path = ""  # the root as a "/"-separated path (local: absolute; S3: the key prefix)

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """(key, size) of every object under prefix; one folder's objects are contiguous."""
        raise NotImplementedError

    def keys(self, prefix: str = "") -> Iterator[str]:
        for key, _size in self.list(prefix):
            yield key

    def children(self, rel: str) -> tuple[list[str], dict[str, int]]:
        """Immediate sub-folders (names) and objects (name -> size) of folder `rel`, sorted."""
        raise NotImplementedError

    def read(
        self, key: str, limit: int | None = None, version_id: str | None = None
    ) -> bytes | None:
        """The object, None when absent; with `limit`, at most limit+1 bytes."""
        raise NotImplementedError

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        """A stream over the object (at `version_id` where the store has versions);
        StorageError (one line) when it cannot be opened, absent included."""
        raise NotImplementedError

    def head(self, key: str, version_id: str | None = None) -> dict[str, Any] | None:
        """What is known of the object without reading it — `size`, `version_id`,
        `last_modified` and, on S3, `lock_mode` / `retain_until` (Object Lock) — or None
        when it is absent."""
        raise NotImplementedError

    def digest(self, key: str, version_id: str | None = None) -> tuple[str, int] | None:
        """(SHA-256 hex, size) of the object, None when it is absent. A store that only
        reads whole (a test's, a single envelope) is hashed whole; LocalStore and S3Store
        stream (`_streamed_digest`)."""
        data = self.read(key, version_id=version_id)
        return None if data is None else (hashlib.sha256(data).hexdigest(), len(data))

    def _streamed_digest(self, key: str, version_id: str | None = None) -> tuple[str, int] | None:
        """The digest read in chunks: the object is never held whole."""
        try:
            fh = self.open(key, version_id)
        except StorageError:
            if self.head(key, version_id) is None:
                return None
            raise
        sha, size = hashlib.sha256(), 0
        with contextlib.closing(fh):
            while block := fh.read(CHUNK):
                sha.update(block)
                size += len(block)
        return sha.hexdigest(), size

    def put_if_absent(self, key: str, data: bytes, content_type: str = "") -> bool:
        """Conditional create: True when written, False when these exact bytes were already
        there, StorageError when other bytes are."""
        raise NotImplementedError

    def versions(self, prefix: str) -> dict[str, list[ObjectVersion]]:
        return {}  # a folder has no versions

    def lock_info(self, key: str) -> dict[str, Any] | None:
        return None

    def uri(self, key: str) -> str:
        return f"{self.label}{key}"

    @property
    def name(self) -> str:
        """The root's last path segment (e.g. `roo` for …/raw/roo/)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


class LocalStore(Store):
    digest = Store._streamed_digest

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.path = os.path.abspath(self.root).replace(os.sep, "/")
        self.label = f"{self.root}/"

    def _file(self, key: str) -> Path | None:
        """root/key; None when a symlink is on the way (the listing does not show it either:
        a symlink is not an object of this tree and may lead out of it)."""
        check_key(key)
        target = self.root.resolve().joinpath(*key.split("/"))
        return target if target.resolve() == target else None

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        check_prefix(prefix)
        folder, _, _ = prefix.rpartition("/")
        start = self.root / folder if folder else self.root
        for key, size in _walk(start, f"{folder}/" if folder else ""):
            if key.startswith(prefix):
                yield key, size

    def children(self, rel: str) -> tuple[list[str], dict[str, int]]:
        check_prefix(rel)
        dirs: list[str] = []
        files: dict[str, int] = {}
        try:
            with os.scandir(self.root / rel) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        dirs.append(e.name)
                    elif e.is_file(follow_symlinks=False):
                        files[e.name] = e.stat(follow_symlinks=False).st_size
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            pass
        return sorted(dirs), dict(sorted(files.items()))

    def read(
        self, key: str, limit: int | None = None, version_id: str | None = None
    ) -> bytes | None:
        path = self._file(key)
        if path is None:
            return None
        try:
            with path.open("rb") as fh:
                return fh.read() if limit is None else fh.read(limit + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"{self.uri(key)}: read failed ({exc.strerror})") from None

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        path = self._file(key)
        if path is None:
            raise StorageError(f"{self.uri(key)}: cannot open (a symlink)")
        try:
            return path.open("rb")
        except OSError as exc:
            raise StorageError(f"{self.uri(key)}: cannot open ({exc.strerror})") from None

    def head(self, key: str, version_id: str | None = None) -> dict[str, Any] | None:
        path = self._file(key)
        try:
            st = path.stat() if path is not None else None
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"{self.uri(key)}: head failed ({exc.strerror})") from None
        if st is None or not path.is_file():
            return None
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        return {"size": st.st_size, "version_id": None, "last_modified": modified,
                "lock_mode": None, "retain_until": None}  # fmt: skip

    def put_if_absent(self, key: str, data: bytes, content_type: str = "") -> bool:
        target = safe_join(self.root, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with target.open("xb") as fh:
                fh.write(data)
            return True
        except FileExistsError:
            pass
        if target.read_bytes() != data:
            raise StorageError(f"{self.uri(key)}: already exists with different content")
        return False


def _walk(path: Path, reldir: str) -> Iterator[tuple[str, int]]:
    """Every file below `path` in S3's order (lexicographic by key, a folder sorted as
    "name/"), from scandir entries. Symlinks are not followed: they may lead out of the tree."""
    try:
        with os.scandir(path) as it:
            entries = []
            for e in it:
                try:
                    if e.is_dir(follow_symlinks=False):
                        entries.append((e.name + "/", e))
                    elif e.is_file(follow_symlinks=False):
                        entries.append((e.name, e))
                except OSError:
                    continue
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for name, e in sorted(entries, key=lambda t: t[0]):
        if name.endswith("/"):
            yield from _walk(Path(e.path), reldir + name)
            continue
        try:
            yield reldir + name, e.stat(follow_symlinks=False).st_size
        except OSError:
            continue


class S3Store(Store):
    online = True
    digest = Store._streamed_digest

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", page_size: int = PAGE_SIZE
    ) -> None:
        self.page_size = page_size
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.path = prefix
        self.label = f"s3://{bucket}/{prefix}"
        self._meta: dict[str, dict[str, Any]] = {}  # lock headers seen on GET (saves a HEAD)
        # key -> its first version, once a versions listing saw it: reads are pinned there,
        # so a later version (or delete marker) over a committed object changes nothing read.
        self._first: dict[str, str] = {}

    def _fail(self, key: str, what: str, exc: ClientError) -> StorageError:
        return StorageError(f"{self.uri(key)}: {what} failed ({error_code(exc) or '?'})")

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        check_prefix(prefix)
        cut = len(self.prefix)
        try:
            for obj in iter_objects(self.client, self.bucket, self.prefix + prefix, self.page_size):
                yield obj["Key"][cut:], obj["Size"]
        except ClientError as exc:
            raise self._fail(prefix, "listing", exc) from None

    def children(self, rel: str) -> tuple[list[str], dict[str, int]]:
        check_prefix(rel)
        dirs: list[str] = []
        files: dict[str, int] = {}
        prefix = self.prefix + rel
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(
                Bucket=self.bucket,
                Prefix=prefix,
                Delimiter="/",
                PaginationConfig={"PageSize": self.page_size},
            ):
                for cp in page.get("CommonPrefixes", []):
                    dirs.append(cp["Prefix"][len(prefix) :].rstrip("/"))
                for obj in page.get("Contents", []):
                    files[obj["Key"][len(prefix) :]] = obj["Size"]
        except ClientError as exc:
            raise self._fail(rel, "listing", exc) from None
        return sorted(dirs), dict(sorted(files.items()))

    def read(
        self, key: str, limit: int | None = None, version_id: str | None = None
    ) -> bytes | None:
        """The object (at `version_id`, else at its first version once a versions listing
        saw it); with `limit`, a ranged GET of at most limit+1 bytes, so a huge object is
        never read whole."""
        check_key(key)
        extra: dict[str, Any] = self._version(key, version_id)
        if limit is not None:
            extra["Range"] = f"bytes=0-{limit}"
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key, **extra)
        except ClientError as exc:
            if is_not_found(exc):
                return None
            if limit is not None and error_code(exc) == "InvalidRange":  # an empty object
                return b""
            raise self._fail(key, "read", exc) from None
        self._meta[key] = {k: resp.get(k) for k in LOCK_FIELDS}  # spares online checks a HEAD
        body = resp["Body"]
        try:
            return body.read() if limit is None else body.read(limit + 1)
        finally:
            body.close()

    def _version(self, key: str, version_id: str | None) -> dict[str, str]:
        pinned = version_id or self._first.get(key)
        return {"VersionId": pinned} if pinned else {}

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        """A stream over the object, pinned as `read` is (the caller closes it)."""
        check_key(key)
        extra = self._version(key, version_id)
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key, **extra)
        except ClientError as exc:
            raise self._fail(key, "open", exc) from None
        self._meta[key] = {k: resp.get(k) for k in LOCK_FIELDS}
        return resp["Body"]

    def head(self, key: str, version_id: str | None = None) -> dict[str, Any] | None:
        check_key(key)
        extra = self._version(key, version_id)
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self.prefix + key, **extra)
        except ClientError as exc:
            if is_not_found(exc) or http_status(exc) == 405:  # 405: a delete marker
                return None
            raise self._fail(key, "head", exc) from None
        return {
            "size": resp.get("ContentLength"),
            "version_id": resp.get("VersionId"),
            "last_modified": resp.get("LastModified"),
            "lock_mode": resp.get("ObjectLockMode"),
            "retain_until": resp.get("ObjectLockRetainUntilDate"),
            "legal_hold": resp.get("ObjectLockLegalHoldStatus"),
        }

    def put_if_absent(self, key: str, data: bytes, content_type: str = "") -> bool:
        safe_relative(key)  # writes refuse non-NFC spellings too
        ctype = content_type or "application/octet-stream"
        return put_locked(self.client, self.bucket, self.prefix + key, data, None, ctype)

    def versions(self, prefix: str) -> dict[str, list[ObjectVersion]]:
        """Every version and delete marker under prefix, newest first per key; pins reads of
        each listed key to its first version."""
        check_prefix(prefix)
        out: dict[str, list[ObjectVersion]] = {}
        cut = len(self.prefix)
        for v in iter_versions(self.client, self.bucket, self.prefix + prefix, self.page_size):
            key = v.key[cut:]
            out.setdefault(key, []).append(
                ObjectVersion(key, v.version_id, v.is_delete_marker, v.last_modified)
            )
            if not v.is_delete_marker and v.version_id not in ("", "null"):
                self._first[key] = v.version_id  # S3 lists newest first: the last one wins
        return out

    def lock_info(self, key: str) -> dict[str, Any] | None:
        # GET/HEAD carry ObjectLockMode/RetainUntilDate (moto answers 500 on GetObjectRetention)
        if key in self._meta:
            return self._meta[key]
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if is_not_found(exc) or http_status(exc) == 405:
                return None
            raise self._fail(key, "head", exc) from None


def open_store(location: str, s3_client: Any = None, must_exist: bool = False) -> Store:
    """A store over `s3://bucket/prefix` or a local folder."""
    if location.startswith("s3://"):
        if s3_client is None:
            raise InputError(f"{location}: an s3 client is needed to read s3:// sources")
        bucket, _, prefix = location[5:].partition("/")
        if not bucket:
            raise InputError(f"{location}: s3 URI has no bucket")
        return S3Store(s3_client, bucket, prefix)
    if must_exist and not os.path.exists(location):
        raise InputError(f"{location}: no such file or directory")
    return LocalStore(location)
