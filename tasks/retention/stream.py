"""Streaming redaction of one file: bounded memory whatever the file size.

Text is read in chunks that overlap by more than the longest secret (a PEM key), so a
1 GB single line is fine. JSON (ui_messages.json is one array) is cut after a complete
value string, so every chunk holds whole tokens and the parse state at a cut is "outside
any string"; a string longer than MAX_TOKEN falls back to text redaction of its raw bytes
(markers hold no quote or backslash, so the JSON stays valid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from tasks.retention.engine import Redactor
from tasks.retention.jsonlocal import AFTER_CLOSE, next_quote, prev_quote

OVERLAP = 16 * 1024  # > the longest span a rule can match (private keys: ~12 KB)
MAX_TOKEN = 64 * 1024 * 1024


@dataclass
class FileStats:
    bytes_in: int = 0
    bytes_out: int = 0
    changed: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def is_json_name(name: str) -> bool:
    return name.endswith(".json")


def redact_stream(
    redactor: Redactor,
    fin: BinaryIO,
    fout: BinaryIO,
    *,
    as_json: bool,
    chunk_size: int = 8 * 1024 * 1024,
) -> FileStats:
    before = dict(redactor.counts)
    stats = FileStats()
    writer = _Writer(fout, stats)
    if as_json:
        _json_stream(redactor, fin, writer, chunk_size)
    else:
        _text_stream(redactor, fin, writer, chunk_size)
    stats.counts = {
        k: v - before.get(k, 0) for k, v in redactor.counts.items() if v - before.get(k, 0)
    }
    stats.changed = bool(stats.counts)
    return stats


class _Writer:
    def __init__(self, fout: BinaryIO, stats: FileStats) -> None:
        self.fout, self.stats = fout, stats

    def read(self, fin: BinaryIO, n: int) -> bytes:
        chunk = fin.read(n)
        self.stats.bytes_in += len(chunk)
        return chunk

    def write(self, data: bytes) -> None:
        self.fout.write(data)
        self.stats.bytes_out += len(data)


class _Prepend:
    """A reader that yields `head` first (already counted), then the rest of `fin`."""

    def __init__(self, head: bytes, fin: BinaryIO) -> None:
        self.head, self.fin = head, fin

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.fin.read(n)


def _text_stream(redactor: Redactor, fin, w: _Writer, chunk_size: int, counted: int = 0) -> None:
    carry = b""
    while True:
        chunk = fin.read(chunk_size) if counted else w.read(fin, chunk_size)
        if counted:  # bytes of the prepended head were counted by the caller
            w.stats.bytes_in += max(0, len(chunk) - counted)
            counted = max(0, counted - len(chunk))
        buf = carry + chunk if carry else chunk
        if not chunk:
            if buf:
                w.write(redactor.redact_text(buf))
            return
        carry = _emit_text(redactor, buf, w, final=False)


def _emit_text(redactor: Redactor, buf: bytes, w: _Writer, final: bool) -> bytes:
    """Redact spans starting before the cut; return the unprocessed tail (the overlap)."""
    cut = len(buf) if final else len(buf) - OVERLAP
    if cut <= 0:
        return buf
    hits = redactor.scan(buf)
    spans = [s for s in redactor.spans(buf, hits) if s.start < cut] if hits else []
    emit_to = max([cut] + [s.end for s in spans])
    w.write(redactor.apply(buf[:emit_to], spans) if spans else buf[:emit_to])
    return buf[emit_to:]


def _json_stream(redactor: Redactor, fin: BinaryIO, w: _Writer, chunk_size: int) -> None:
    first = w.read(fin, chunk_size)
    if first.lstrip(b" \t\r\n")[:1] not in (b"[", b"{", b'"', b""):
        # not JSON after all (a .json file holding text): redact it as text
        _text_stream(redactor, _Prepend(first, fin), w, chunk_size, counted=len(first))
        return
    carry = b""
    pending = first
    in_giant_string = False
    while True:
        chunk, pending = (pending, b"") if pending else (w.read(fin, chunk_size), b"")
        buf = carry + chunk if carry else chunk
        if not chunk:
            if buf:
                w.write(redactor.redact_text(buf) if in_giant_string else redactor.redact_json(buf))
            return
        if in_giant_string:
            q = next_quote(buf, 0)
            if q < 0:
                carry = _emit_text(redactor, buf, w, final=False)
                continue
            w.write(redactor.redact_text(buf[: q + 1]))
            buf, in_giant_string = buf[q + 1 :], False
        cut = _json_cut(buf)
        if cut <= 0:
            if len(buf) > MAX_TOKEN:  # one enormous string: redact its raw bytes as text
                opening = prev_quote(buf, len(buf))
                _write_json(redactor, buf[:opening], w)
                carry = _emit_text(redactor, buf[opening:], w, final=False)
                in_giant_string = True
            else:
                carry = buf
            continue
        _write_json(redactor, buf[:cut], w)
        carry = buf[cut:]


def _write_json(redactor: Redactor, data: bytes, w: _Writer) -> None:
    pieces = redactor.json_pieces(data)
    if pieces is None:
        w.write(data)
    else:
        for piece in pieces:
            w.write(piece)


def _json_cut(buf: bytes) -> int:
    """Index of an opening quote near the end (everything before it is whole tokens).

    A quote that is not escaped and is followed by a byte that cannot follow a closing
    quote opens a string, so the parse state just before it is "between tokens".
    """
    q = len(buf)
    for _ in range(10000):
        q = prev_quote(buf, q)
        if q <= 0:
            return 0
        if q + 1 < len(buf) and buf[q + 1] not in AFTER_CLOSE and _before(buf, q) in b",[{":
            return q  # a key or an array element: never split a key from its value
    return 0


def _before(buf: bytes, q: int) -> bytes:
    """The last non-space byte before q."""
    i = q - 1
    while i >= 0 and buf[i] in b" \t\r\n":
        i -= 1
    return buf[i : i + 1] if i >= 0 else b""
