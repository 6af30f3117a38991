"""Structure-preserving JSON redaction, chunk boundaries, and bounded memory when streaming."""

from __future__ import annotations

import io
import random
import tracemalloc

import orjson
import pytest

from bench.synth import pem, planted
from tasks.retention import stream
from tasks.retention.engine import Redactor
from tasks.retention.stream import redact_stream

RNG = random.Random(5)
KEY = pem(RNG, "RSA PRIVATE KEY")
EMAIL = "maria.k7@proton.me"
TOKEN = "ghp_" + "Zy9" * 12


@pytest.fixture(scope="module")
def red() -> Redactor:
    return Redactor(key=b"k")


def roo_messages() -> list[dict]:
    tool = {"tool": "newFileCreated", "path": "id_rsa", "content": KEY}
    mcp = {"type": "use_mcp_tool", "serverName": "gh", "toolName": "t",
           "arguments": orjson.dumps({"token": TOKEN, "note": f"by {EMAIL}"}).decode()}  # fmt: skip
    return [
        {"ts": 1, "type": "say", "say": "text", "text": f'hi {EMAIL}, key: {{"a":1}}'},
        {"ts": 2, "type": "ask", "ask": "tool", "text": orjson.dumps(tool).decode()},
        {"ts": 3, "type": "ask", "ask": "use_mcp_server", "text": orjson.dumps(mcp).decode()},
        {
            "ts": 4,
            "type": "say",
            "say": "api_req_started",
            "text": '{"apiProtocol":"anthropic","tokensIn":15230,"tokensOut":412,"cost":0.01533}',
        },  # fmt: skip
        {"ts": 5, "type": "say", "say": "text", "text": 'unicode ✓ \u00e9 \\ "quoted" ' + TOKEN},
        {EMAIL: "keys are kept", "n": 4539573100623140},
    ]


def test_json_in_json_is_decoded_redacted_and_reencoded(red: Redactor) -> None:
    msgs = roo_messages()
    data = orjson.dumps(msgs)
    assert KEY.encode() not in data  # the key only exists with escaped newlines
    out = red.redact_json(data)
    parsed = orjson.loads(out)
    assert len(parsed) == len(msgs)
    assert [sorted(m) for m in parsed] == [sorted(m) for m in msgs]  # same fields
    tool = orjson.loads(parsed[1]["text"])  # still a JSON string inside JSON
    assert tool["content"].startswith("[REDACTED:private_key:") and tool["path"] == "id_rsa"
    mcp = orjson.loads(parsed[2]["text"])
    args = orjson.loads(mcp["arguments"])  # three levels deep
    assert args["token"].startswith("[REDACTED:github_token:")
    assert EMAIL not in args["note"]
    assert parsed[3] == msgs[3]  # untouched messages are byte-identical
    assert orjson.dumps(parsed[3]) in out
    assert parsed[4]["text"].startswith('unicode ✓ é \\ "quoted" [REDACTED:github_token:')
    assert EMAIL in parsed[5]  # keys are structure, never rewritten
    for secret in (EMAIL.encode(), TOKEN.encode(), KEY.split("\n")[1].encode()):
        assert secret not in out.replace(EMAIL.encode() + b'":"keys', b"")


def test_hit_free_json_is_copied_unchanged(red: Redactor) -> None:
    data = orjson.dumps([{"ts": i, "text": "nothing to see " * 5} for i in range(100)])
    assert red.json_pieces(data) is None
    assert red.redact_json(data) is data


@pytest.mark.parametrize("chunk", [7, 64, 1000, 1 << 20])
def test_streaming_json_matches_whole_file(red: Redactor, chunk: int) -> None:
    data = orjson.dumps(roo_messages() * 20)
    out = io.BytesIO()
    stats = redact_stream(red, io.BytesIO(data), out, as_json=True, chunk_size=chunk)
    assert out.getvalue() == red.redact_json(data)
    assert stats.bytes_in == len(data) and stats.counts["private_key"] == 20


def test_giant_string_falls_back_to_text_and_stays_valid(red: Redactor, monkeypatch) -> None:
    monkeypatch.setattr(stream, "MAX_TOKEN", 4096)
    monkeypatch.setattr(stream, "OVERLAP", 1024)
    filler = "lorem ipsum " * 2000
    data = orjson.dumps([{"ts": 1, "text": f"{filler} {EMAIL} {filler} {TOKEN} end"}])
    out = io.BytesIO()
    redact_stream(red, io.BytesIO(data), out, as_json=True, chunk_size=1500)
    parsed = orjson.loads(out.getvalue())
    assert EMAIL not in parsed[0]["text"] and TOKEN not in parsed[0]["text"]
    assert parsed[0]["text"].endswith(" end")


def test_text_chunks_overlap_so_a_key_across_a_boundary_is_found(red: Redactor) -> None:
    text = ("x" * 9000 + "\n" + KEY + "\n") * 3 + EMAIL
    out = io.BytesIO()
    stats = redact_stream(red, io.BytesIO(text.encode()), out, as_json=False, chunk_size=4096)
    assert stats.counts == {"private_key": 3, "email": 1}
    assert out.getvalue().count(b"[REDACTED:private_key:") == 3


def test_one_huge_line_is_streamed_in_chunks(red: Redactor) -> None:
    """~20 MB single line: output correct, Python heap bounded (tracemalloc)."""
    rng = random.Random(9)
    pieces, secrets = [], []
    for i in range(400):
        pieces.append("y" * 50_000)
        if i % 40 == 0:
            kind, value, carrier = planted(rng)[i % 30]
            secrets.append(value)
            pieces.append(carrier.replace("\n", " "))
    data = " ".join(pieces).encode()
    assert len(data) > 20_000_000 and b"\n" not in data
    src, sink = io.BytesIO(data), _CountingSink([v.encode() for v in secrets])
    tracemalloc.start()
    try:
        stats = redact_stream(red, src, sink, as_json=False, chunk_size=2 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.bytes_in == len(data) and sink.n == stats.bytes_out
    assert sink.seen == [] and sum(stats.counts.values()) >= len(secrets)
    assert peak < 16 * 1024 * 1024, peak  # a few chunks, not the 20 MB input


def test_big_json_array_streams_with_bounded_memory(red: Redactor, tmp_path) -> None:
    msgs = [{"ts": i, "type": "say", "say": "text", "text": "z" * 2000 + (f" {EMAIL}" if i % 500 == 0 else "")} for i in range(10_000)]  # fmt: skip
    path = tmp_path / "ui_messages.json"
    path.write_bytes(orjson.dumps(msgs))
    del msgs
    out_path = tmp_path / "out.json"
    tracemalloc.start()
    try:
        with open(path, "rb") as fin, open(out_path, "wb") as fout:
            stats = redact_stream(red, fin, fout, as_json=True, chunk_size=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.counts == {"email": 20}
    assert peak < 12 * 1024 * 1024, peak
    parsed = orjson.loads(out_path.read_bytes())
    assert len(parsed) == 10_000 and EMAIL.encode() not in out_path.read_bytes()


class _CountingSink:
    """Counts bytes and looks for secrets in what is written (across write boundaries)."""

    def __init__(self, secrets: list[bytes]) -> None:
        self.n, self.tail, self.secrets, self.seen = 0, b"", secrets, []

    def write(self, b: bytes) -> int:
        self.n += len(b)
        window = self.tail + b
        self.seen += [s[:8] for s in self.secrets if s in window]
        self.tail = window[-4096:]
        return len(b)


@pytest.mark.parametrize("chunk", [5, 11, 23, 40])
def test_a_chunk_cut_never_separates_a_secret_key_from_its_value(red: Redactor, chunk: int) -> None:
    data = orjson.dumps([{"n": 1, "password": "Zx9qLm2Pw7rTq", "apiKey": "Qw3rTy7Ui9oPz"}] * 3)
    out = io.BytesIO()
    redact_stream(red, io.BytesIO(data), out, as_json=True, chunk_size=chunk)
    assert out.getvalue() == red.redact_json(data)
    assert b"Zx9qLm2Pw7rTq" not in out.getvalue() and b"Qw3rTy7Ui9oPz" not in out.getvalue()


def test_a_json_named_file_holding_text_is_redacted_as_text(red: Redactor) -> None:
    out = io.BytesIO()
    stats = redact_stream(red, io.BytesIO(f"plain {TOKEN} text".encode()), out, as_json=True)
    assert TOKEN.encode() not in out.getvalue() and stats.counts == {"github_token": 1}
