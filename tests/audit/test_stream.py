"""stream_ledger (out of core) against build_ledger + checks over the whole table (in
memory): the same bytes, stats and findings, whatever the batch sizes; and the spooled
file and chunked gzip reading it relies on."""

from __future__ import annotations

import gzip
import pickle
import random
import zlib

import pyarrow as pa
import pytest

from tasks.audit import checks, stream
from tasks.audit.commands import hmac_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.ledger import _lines, build_ledger, ledger_csv, ledger_jsonl_gz
from tasks.common.bursts import WriteBurstConfig
from tasks.common.storage import SpooledFile
from tests.audit.conftest import sample_rows, table, tel, ui

MODES = AuditConfig().all_edit_modes()
DENY = AuditConfig(deny_commands=[r"git\s+push", r"rm\s+-rf"]).deny_patterns()


def _hostile_rows(n: int, seed: int) -> list[dict]:
    """Writes (in and outside workspaces, no path), commands (denied or not),
    telemetry mirrors and unpaired events, rollbacks (some with no task), same rows twice."""
    rnd = random.Random(seed)
    rows = sample_rows()
    for i in range(n):
        user = rnd.choice(["ann", "bob", "cy"])
        t = rnd.randint(0, 600)
        pick = rnd.randrange(6)
        # checks sort findings by (user, task): a null there fails in memory too
        task = rnd.choice(["t1", "t2", "t3", None] if pick in (3, 4) else ["t1", "t2", "t3"])
        if pick == 0:
            path = rnd.choice(["src/a.py", "../x.py", "/etc/hosts", None, "~/.ssh/k"])
            r = ui(i, t, user=user, task_id=task, kind="tool", tool="appliedDiff", path=path,
                   mutates=True, workspace=rnd.choice(["/w", None]))  # fmt: skip
        elif pick == 1:
            cmd = rnd.choice(["git push origin main", "ls", "rm -rf /", "pytest"])
            r = ui(i, t, user=user, task_id=task, kind="command", command=cmd, mutates=True)
        elif pick == 2:
            r = tel(i, t, user=user, task_id=task, kind="Tool Used", tool="write_to_file",
                    mutates=True)  # fmt: skip
        elif pick == 3:
            r = tel(i, t, user=user, task_id=task, kind="Mode Switched", target_mode="code")
        elif pick == 4:
            r = tel(i, t, user=user, task_id=task, kind="Checkpoint Restored", mutates=True)
        else:
            r = ui(i, t, user=user, task_id=task, kind="tool", tool="mystery", mutates=True)
        rows.append(r)
        if rnd.random() < 0.1:
            rows.append(dict(r))  # the same row twice
    return rows


def _batches(t: pa.Table, sizes: list[int]):
    start, i = 0, 0
    while start < t.num_rows:
        size = sizes[i % len(sizes)]
        yield t.slice(start, size)
        start, i = start + size, i + 1


BURST = WriteBurstConfig(writes=3, window_seconds=60, factor=1)


@pytest.mark.parametrize("sizes", [[10_000], [1], [3, 50, 7]])
def test_streamed_ledger_equals_the_in_memory_one(sizes, monkeypatch):
    monkeypatch.setattr(stream, "BATCH", 5)  # many spool row groups and reader batches
    t = table(_hostile_rows(400, seed=len(sizes)))
    redact = hmac_redactor(b"k")
    ref = build_ledger(t, edit_modes=MODES, redact_command=redact, deny_patterns=DENY)
    got = stream.stream_ledger(
        _batches(t, sizes), edit_modes=MODES, redact_command=redact, deny_patterns=DENY,
        write_burst=BURST,
    )  # fmt: skip
    assert got.gz == ledger_jsonl_gz(ref.entries)
    assert got.csv == ledger_csv(ref.entries)
    assert got.entries == ref.entries
    assert got.stats == ref.stats and got.denied == ref.denied and ref.denied
    assert ref.stats["exact_duplicates"] and ref.stats["telemetry_duplicates"]
    assert ref.stats["unclassified_mutating_rows"] > 0
    assert {(u["source"], u["kind"], u["tool"]) for u in got.unclassified} == {
        (r["source"], r["kind"], r["tool"]) for r in ref.unclassified
    }
    outside, unknown = checks.outside_workspace_findings(ref.entries)
    want = outside + checks.denied_command_findings(ref.entries, ref.denied)
    want += checks.write_burst_findings(ref.entries, BURST)
    assert [f.model_dump() for f in got.findings] == [f.model_dump() for f in want]
    assert {f.check for f in want} >= {
        "audit.write_outside_workspace", "audit.denied_command", "audit.write_burst"
    }  # fmt: skip
    assert got.writes_with_unknown_place == unknown > 0
    assert got.summary == checks.summary_counts(ref.entries)


def test_an_empty_day_is_an_empty_ledger():
    got = stream.stream_ledger([], edit_modes=MODES, redact_command=str, write_burst=BURST)
    assert got.gz == ledger_jsonl_gz([]) and got.csv == ledger_csv([])
    assert got.stats["entries"] == 0 and got.findings == [] and got.entries == []


def test_spooled_file_reads_back_pickles_and_is_removed():
    f = SpooledFile.from_bytes(b"abc" * 1000)
    assert bytes(f) == b"abc" * 1000 and f == b"abc" * 1000 and len(f) == 3000
    assert f != b"abd" * 1000
    copy = pickle.loads(pickle.dumps(f))  # another process gets the content, not the path
    assert copy.path != f.path and copy == f
    path = f.path
    del f
    import os

    assert not os.path.exists(path)


def test_chunked_gzip_reading_handles_members_across_chunks_and_truncation():
    lines = [b'{"n":%d}' % i for i in range(5000)]
    data = gzip.compress(b"\n".join(lines[:2500]) + b"\n") + gzip.compress(
        b"\n".join(lines[2500:]) + b"\n"
    )
    for chunk in (1, 7, 4096, len(data)):
        chunks = (data[i : i + chunk] for i in range(0, len(data), chunk))
        assert [x for x in _lines(chunks) if x] == lines
    with pytest.raises(EOFError):
        list(_lines(data[:-20], chunk=100))
    with pytest.raises(zlib.error):
        list(_lines(data + b"garbage!"))
    assert list(_lines(b"")) == [b""] and list(_lines(b"a\nb")) == [b"a", b"b"]
