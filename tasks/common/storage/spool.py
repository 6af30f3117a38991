"""A file written to a temporary file instead of held in memory, hashed as it is written.

A job's large output (audit-trail's ledger: gigabytes at 10 M actions) is written to disk
through the handle `SpooledFile.create` returns, which computes its SHA-256 and MD5 on the
way, so the bundle writer names its digest and the storage layer PUTs it (a ranged body
per part, or the file handle) without reading it whole or hashing it a second time.
Pickling carries the content, so a result sent to another process (a Dask worker) still
holds its file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import weakref
from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 20


class SpooledFile:
    """A finished file on local disk, removed when the object is garbage-collected."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sha256: bytes | None = None  # set when the writing handle closes
        self._md5: bytes | None = None
        self._cleanup = weakref.finalize(self, _remove, path)

    @classmethod
    def create(cls, suffix: str = "", dir: str | None = None) -> tuple[SpooledFile, IO[bytes]]:
        """A new empty spooled file and a binary handle to write it; closing the handle
        records the digests of what went through it (the caller closes it)."""
        fd, path = tempfile.mkstemp(prefix="compliance-spool-", suffix=suffix, dir=dir)
        spooled = cls(path)
        return spooled, io.BufferedWriter(_HashingWriter(os.fdopen(fd, "wb", 0), spooled))

    @classmethod
    def from_bytes(cls, data: bytes) -> SpooledFile:
        spooled, f = cls.create()
        with f:
            f.write(data)
        return spooled

    def __len__(self) -> int:
        return os.path.getsize(self.path)

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            while block := f.read(size):
                yield block

    def open(self) -> IO[bytes]:
        return open(self.path, "rb")

    def digests(self) -> tuple[bytes, bytes]:
        """(SHA-256, MD5) of the content: those recorded while writing, else one pass."""
        if self._sha256 is None or self._md5 is None:
            sha, md5 = hashlib.sha256(), hashlib.md5()
            for block in self.chunks():
                sha.update(block)
                md5.update(block)
            self._sha256, self._md5 = sha.digest(), md5.digest()
        return self._sha256, self._md5

    def sha256(self) -> str:
        return self.digests()[0].hex()

    def __bytes__(self) -> bytes:
        """The whole content (tests and small files only)."""
        with open(self.path, "rb") as f:
            return f.read()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpooledFile):
            return self.path == other.path or (
                len(self) == len(other) and self.digests() == other.digests()
            )
        if isinstance(other, (bytes, bytearray, memoryview)):
            return len(self) == len(other) and bytes(self) == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal by content, which can change

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (SpooledFile.from_bytes, (bytes(self),))

    def __repr__(self) -> str:
        return f"SpooledFile({self.path!r}, {len(self)} bytes)"


class _HashingWriter(io.RawIOBase):
    """Writes through to the file and hashes every byte; closing records the digests."""

    def __init__(self, raw: IO[bytes], target: SpooledFile) -> None:
        self._raw, self._target = raw, target
        self._sha256, self._md5 = hashlib.sha256(), hashlib.md5()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        view = memoryview(b)
        written = self._raw.write(view)
        self._sha256.update(view[:written])
        self._md5.update(view[:written])
        return written

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
            self._target._sha256, self._target._md5 = self._sha256.digest(), self._md5.digest()
        super().close()


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
