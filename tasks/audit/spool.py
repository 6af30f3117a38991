"""A bundle file written to a temporary file instead of held in memory.

The day's ledger can be gigabytes (10 M actions); it is written line by line to disk and
handed on as a `SpooledFile`, which is read in chunks. `bytes(f)` reads it whole, for the
callers that need bytes (the bundle writer today); pickling carries the content, so a
result sent to another process (a Dask worker) still holds its file.
"""

from __future__ import annotations

import contextlib
import hashlib
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
        self._cleanup = weakref.finalize(self, _remove, path)

    @classmethod
    def create(cls, suffix: str = "", dir: str | None = None) -> tuple[SpooledFile, IO[bytes]]:
        """A new empty spooled file and a binary handle to write it (the caller closes it)."""
        fd, path = tempfile.mkstemp(prefix="compliance-spool-", suffix=suffix, dir=dir)
        return cls(path), os.fdopen(fd, "wb")

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

    def sha256(self) -> str:
        h = hashlib.sha256()
        for block in self.chunks():
            h.update(block)
        return h.hexdigest()

    def __bytes__(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SpooledFile):
            return self.path == other.path or bytes(self) == bytes(other)
        if isinstance(other, (bytes, bytearray, memoryview)):
            return len(self) == len(other) and bytes(self) == bytes(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal by content, which can change

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (SpooledFile.from_bytes, (bytes(self),))

    def __repr__(self) -> str:
        return f"SpooledFile({self.path!r}, {len(self)} bytes)"


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
