"""Many small files in one Hyperscan pass: per clean file, a read, a slice and a write.

A fleet of Roo Code task folders is mostly files of a few KB, and most hold nothing to
redact. Redacting them one by one costs Python work per file (a scan call, a stream, a
JSON walk). Here the files of a batch are concatenated (a newline between two files) and
scanned once; a hit is mapped back to its file by offset. A file without a hit is written
back byte for byte, never decoded. Only a file with a hit goes through the engine, which
locates the JSON string(s) holding the hits and confirms them in bounded windows.

A concatenation can only add prefilter matches (one across two files): every match inside
one file is still reported at the same end offset, and prefilters never anchor to the start
of the buffer (the databases are compiled multi-line, so `^` also matches after a newline).
Extra matches cost a confirmation in that file, never a miss.
"""

from __future__ import annotations

import os
from bisect import bisect_right

from tasks.retention.engine import Redactor
from tasks.retention.stream import FileStats, is_json_name

SMALL = 1024 * 1024  # files above this are streamed one by one (bounded memory)
BATCH_BYTES = 8 * 1024 * 1024  # bytes concatenated into one scan
_SEP = b"\n"


def redact_batch(
    redactor: Redactor, pairs: list[tuple[str, str, int]], big
) -> list[FileStats | str]:
    """Redact (src, dst, size) triples; `big(src, dst)` streams a large file (or returns a
    problem line). A file that cannot be read gives one line and the rest goes on."""
    results: list[FileStats | str] = []
    made: set[str] = set()
    group: list[tuple[str, str, bytes]] = []
    size = 0
    for src, dst, listed in pairs:
        if listed > SMALL:
            results.append(big(src, dst))
            continue
        try:
            data = _read_small(src, listed)
        except OSError as exc:
            results.append(f"{src}: not read ({exc.strerror or type(exc).__name__})")
            continue
        if len(data) > SMALL:  # it grew since it was listed
            results.append(big(src, dst))
            continue
        group.append((src, dst, data))
        size += len(data) + 1
        if size >= BATCH_BYTES:
            results += _flush(redactor, group, made)
            group, size = [], 0
    if group:
        results += _flush(redactor, group, made)
    return results


def _read_small(src: str, listed: int) -> bytes:
    """The file's bytes with one read call when it is the size it was listed with (up to
    SMALL + 1: more means the file is large after all). O_NONBLOCK: a file swapped for a
    FIFO since the listing is not waited on; O_NOFOLLOW: `src` is the listing's real path,
    so a symlink there now was planted since (ELOOP, one line), never followed."""
    fd = os.open(src, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        data = os.read(fd, SMALL + 1)
        if len(data) == listed:  # as listed: no second call to find the end
            return data
        parts, total = [data], len(data)  # it grew, shrank, or a read came back short
        while data and total <= SMALL:
            data = os.read(fd, SMALL + 1 - total)
            parts.append(data)
            total += len(data)
        return b"".join(parts)
    finally:
        os.close(fd)


def _flush(redactor: Redactor, group: list[tuple[str, str, bytes]], made: set[str]) -> list:
    blob = _SEP.join(d for _, _, d in group)
    starts, pos = [], 0
    for _, _, d in group:
        starts.append(pos)
        pos += len(d) + 1
    per_file: dict[int, list[tuple[int, int]]] = {}
    for end, rid in redactor.scan(blob):
        i = bisect_right(starts, end - 1) - 1  # the file holding the match's last byte
        local = end - starts[i]
        if 0 < local <= len(group[i][2]):
            per_file.setdefault(i, []).append((local, rid))
    out: list[FileStats | str] = []
    for i, (src, dst, data) in enumerate(group):
        stats = FileStats(bytes_in=len(data))
        red = data
        hits = per_file.get(i)
        if hits:
            before = dict(redactor.counts)
            red = redact_bytes(redactor, data, is_json_name(src), hits)
            stats.counts = {
                k: v - before.get(k, 0) for k, v in redactor.counts.items() if v != before.get(k, 0)
            }
            stats.changed = bool(stats.counts)
        stats.bytes_out = len(red)
        try:
            _write(dst, red, made)
        except OSError as exc:
            out.append(f"{dst}: not written ({exc.strerror or type(exc).__name__})")
            continue
        out.append(stats)
    return out


def redact_bytes(redactor: Redactor, data: bytes, as_json: bool, hits=None) -> bytes:
    """A whole (small) file redacted in memory, with the same rules as the stream."""
    if as_json and data.lstrip(b" \t\r\n")[:1] in (b"[", b"{", b'"'):
        pieces = redactor.json_pieces(data, hits=hits)
        return data if pieces is None else b"".join(pieces)
    return redactor.redact_text(data, hits=hits)


def _write(dst: str, data: bytes, made: set[str]) -> None:
    """Write through a temp name opened with O_NOFOLLOW, then rename over dst (a symlink
    planted at either name is refused or replaced, never followed)."""
    parent = os.path.dirname(dst)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    tmp = dst + ".partial"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, dst)
