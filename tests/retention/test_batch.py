"""Many small files scanned as one concatenation: the same output as one file at a time."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from tasks.retention import batch
from tasks.retention.config import RedactionConfig
from tasks.retention.engine import Redactor
from tasks.retention.redact_io import redact_path
from tasks.retention.stream import redact_stream

TOKEN = "ghp_Zq8rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5YgH6jQ"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _one_by_one(red: Redactor, src: Path) -> dict[str, bytes]:
    import io

    out = {}
    for rel, data in _files(src).items():
        buf = io.BytesIO()
        redact_stream(red, io.BytesIO(data), buf, as_json=rel.endswith(".json"))
        out[rel] = buf.getvalue()
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    for i in range(30):
        task = src / f"t{i:02d}"
        task.mkdir(parents=True)
        msg = {"ts": i, "type": "say", "say": "text", "text": f"step {i} done"}
        if i % 7 == 0:
            msg["text"] = f"push with token {TOKEN}"
        (task / "ui_messages.json").write_bytes(orjson.dumps([msg]))
        (task / "cmd.txt").write_text(f"ls -la {i}\n" if i % 5 else f"password=Zq8rT2mWx{i}Lk\n")
    # a token cut in two by the file boundary: neither half is a secret on its own
    (src / "t01" / "a.txt").write_bytes(b"noise " + TOKEN[:14].encode())
    (src / "t01" / "b.txt").write_bytes(TOKEN[14:].encode() + b" noise")
    (src / "t02" / "odd.json").write_bytes(b"not json: " + TOKEN.encode())
    return src


@pytest.mark.parametrize("workers", [1, 2])
def test_batch_output_equals_one_file_at_a_time(
    tree: Path, tmp_path: Path, workers: int, monkeypatch
) -> None:
    from tasks.retention import redact_io

    monkeypatch.setattr(redact_io, "POOL_MIN_BYTES", 0)  # a small tree through the pool too
    red = Redactor(RedactionConfig(), b"k")
    want = _one_by_one(red, tree)
    summary = redact_path(str(tree), str(tmp_path / "out"), RedactionConfig(), b"k", workers=workers)  # fmt: skip
    got = _files(tmp_path / "out")
    assert got == want
    assert summary["files"] == len(want) and summary["refused"] == 0
    assert summary["files_changed"] == sum(got[k] != v for k, v in _files(tree).items())
    assert not any(TOKEN.encode() in v for v in got.values())
    assert got["t01/a.txt"] == (tree / "t01" / "a.txt").read_bytes()  # clean: byte for byte


def test_file_above_small_is_streamed(tree: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(batch, "SMALL", 64)
    big = tree / "t03" / "big.txt"
    big.write_text("x" * 200 + f" {TOKEN} " + "y" * 200)
    redact_path(str(tree), str(tmp_path / "out"), RedactionConfig(), b"k", workers=1)
    out = (tmp_path / "out" / "t03" / "big.txt").read_text()
    assert TOKEN not in out and out.startswith("x" * 200)


def test_hits_are_mapped_to_their_own_file(tmp_path: Path) -> None:
    red = Redactor(RedactionConfig(), b"k")
    pairs = []
    for i, text in enumerate([b"clean one", TOKEN.encode(), b"clean two", b"ip 8.8.4.4 seen"]):
        src = tmp_path / f"s{i}.txt"
        src.write_bytes(text)
        pairs.append((str(src), str(tmp_path / "o" / f"s{i}.txt"), len(text)))
    stats = batch.redact_batch(red, pairs, big=lambda s, d: pytest.fail("no big file"))
    assert [s.changed for s in stats] == [False, True, False, True]
    assert (tmp_path / "o" / "s0.txt").read_bytes() == b"clean one"
    assert b"[REDACTED:ipv4:" in (tmp_path / "o" / "s3.txt").read_bytes()


def test_hits_at_the_edges_of_a_flush_stay_in_their_file(
    tree: Path, tmp_path: Path, monkeypatch
) -> None:
    """Flushes of a few files each: a token ending one file's bytes (the last of a scan)
    and one starting the next scan's first file are both found, and nothing else moves."""
    monkeypatch.setattr(batch, "BATCH_BYTES", 96)
    for i in range(6):
        (tree / "t04" / f"edge{i}.txt").write_bytes(
            (f"{TOKEN} head {i}" if i % 2 else f"tail {i} {TOKEN}").encode()
        )
    red = Redactor(RedactionConfig(), b"k")
    want = _one_by_one(red, tree)
    summary = redact_path(str(tree), str(tmp_path / "out"), RedactionConfig(), b"k", workers=1)
    got = _files(tmp_path / "out")
    assert got == want
    assert not any(TOKEN.encode() in v for v in got.values())
    assert summary["files"] == len(want) and summary["refused"] == 0


def test_what_is_not_a_readable_file_is_one_line_and_counted(tree: Path, tmp_path: Path) -> None:
    """A FIFO, a dangling symlink, a symlink out of the tree and a file gone between the
    listing and its read: one line each, counted; every other file is written."""
    from tasks.retention.redact_io import _local_batch
    from tasks.retention.tree import list_tree

    want = _files(tree)
    os.mkfifo(tree / "t05" / "pipe")
    (tree / "t06" / "dangling.txt").symlink_to(tree / "t06" / "nowhere.txt")
    outside = tmp_path / "outside.txt"
    outside.write_text(f"token {TOKEN}\n")
    (tree / "t07" / "out.txt").symlink_to(outside)
    summary = redact_path(str(tree), str(tmp_path / "out"), RedactionConfig(), b"k", workers=1)
    assert summary["refused"] == 3, summary["problems"]
    assert set(_files(tmp_path / "out")) == set(want)  # everything else, nothing more
    lines = "\n".join(summary["problems"])
    assert "pipe: not a regular file (FIFO)" in lines
    assert "dangling.txt: dangling symlink" in lines
    assert "out.txt: symlink to" in lines and TOKEN not in lines

    pairs, _, problems = list_tree(str(tree), str(tmp_path / "out2"))
    gone = tree / "t08" / "cmd.txt"
    gone.unlink()  # deleted while the job runs
    results = _local_batch(Redactor(RedactionConfig(), b"k"), pairs)
    lines = [r for r in results if isinstance(r, str)]
    assert lines == [f"{gone}: not read (No such file or directory)"]
    assert len(results) == len(pairs) and len(problems) == 3


def test_batches_spread_by_bytes_and_by_count() -> None:
    from tasks.retention.redact_io import _batches

    small = [(f"s{i}", f"d{i}", 4000) for i in range(1000)]
    parts = _batches(small, 4_000_000, 2)
    assert len(parts) == 8 and {len(p) for p in parts} == {125}
    big = [(f"b{i}", f"e{i}", 1_400_000) for i in range(4)] + small[:12]
    parts = _batches(big, 4 * 1_400_000 + 12 * 4000, 2)
    assert [len(p) for p in parts[:4]] == [1, 1, 1, 1]  # one large log per batch
    assert sum(map(len, parts)) == 16 and [x for p in parts for x in p] == big


@pytest.mark.parametrize("workers", [1, 2])
def test_a_thousand_small_files_through_the_pool(tmp_path: Path, workers: int, monkeypatch) -> None:
    """Many small files (well under POOL_MIN_BYTES) are spread over processes by count."""
    from tasks.retention import redact_io

    monkeypatch.setattr(redact_io, "POOL_MIN_FILES", 50)
    src = tmp_path / "in"
    for i in range(60):
        (src / f"t{i:02d}").mkdir(parents=True)
        text = f"ok {i}\n" if i % 9 else f"token {TOKEN}\n"
        (src / f"t{i:02d}" / "cmd.txt").write_text(text)
    assert redact_io._pool_pays(60, 600) and not redact_io._pool_pays(40, 600)
    red = Redactor(RedactionConfig(), b"k")
    want = _one_by_one(red, src)
    summary = redact_path(str(src), str(tmp_path / "out"), RedactionConfig(), b"k", workers=workers)  # fmt: skip
    assert _files(tmp_path / "out") == want
    assert summary["files"] == 60 and summary["files_changed"] == 7


def test_a_symlink_deep_in_out_refuses_every_file_below_it(tmp_path: Path) -> None:
    """The output side is checked once per folder: a link planted two levels down in --out
    refuses the files of that folder and of every folder under it, one line each."""
    src = tmp_path / "in"
    for rel in ("t9/a.txt", "t9/sub/b.txt", "t9/sub/deeper/c.txt", "t8/d.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(f"{rel} {TOKEN}\n")
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "out" / "t9").mkdir(parents=True)
    (tmp_path / "out" / "t9" / "sub").symlink_to(victim, target_is_directory=True)
    summary = redact_path(str(src), str(tmp_path / "out"), RedactionConfig(), b"k", workers=1)
    assert list(victim.iterdir()) == []
    assert sorted(_files(tmp_path / "out")) == ["t8/d.txt", "t9/a.txt"]
    assert summary["refused"] == 2 and summary["files"] == 2
    assert all("path goes through a symlink" in p for p in summary["problems"])
