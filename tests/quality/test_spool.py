"""The run's spool: parts of several chunks read back in exact batches and in order, an
empty table as one empty batch, its folders removed on close, a chunk folder the merge
cannot see refused in one line, a failed chunk leaves nothing behind, the batch setting."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.common.errors import ConfigError, InputError, StorageError
from tasks.quality.spool import Spool, SpooledChunk, batch_rows_setting, ingest_to_spool
from tests.quality.factory import event_row, events_table


def _chunk(tmp_path, name: str, rows: range) -> SpooledChunk:
    folder = tmp_path / name
    folder.mkdir()
    if len(rows):
        pq.write_table(events_table([event_row(i) for i in rows]), folder / "events.parquet")
    return SpooledChunk(str(folder), {}, {"events": len(rows)})


def test_batches_are_exact_and_in_chunk_order(tmp_path):
    chunks = [_chunk(tmp_path, "a", range(0, 10)), _chunk(tmp_path, "b", range(10, 10)),
              _chunk(tmp_path, "c", range(10, 23))]  # fmt: skip
    spool = Spool(chunks)
    sizes = [t.num_rows for t in spool.batches("events", 7)]
    assert sizes == [7, 7, 7, 2] and spool.rows("events") == 23
    seqs = [s for t in spool.batches("events", 7) for s in t.column("seq").to_pylist()]
    assert seqs == spool.read("events").column("seq").to_pylist() == list(range(23))
    empty = list(spool.batches("tasks", 7))
    assert [t.num_rows for t in empty] == [0] and empty[0].schema.names  # one empty batch
    folders = [spool.folder, *(c.folder for c in chunks)]
    spool.close()
    assert spool.closed and not any(os.path.exists(f) for f in folders)


def test_a_chunk_folder_this_process_cannot_see_is_one_line(tmp_path):
    with pytest.raises(StorageError) as err:
        Spool([SpooledChunk(str(tmp_path / "elsewhere"), {}, {"events": 3})])
    assert "COMPLIANCE_SPOOL_DIR" in str(err.value) and "\n" not in str(err.value)


def test_a_failed_chunk_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCE_SPOOL_DIR", str(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        ingest_to_spool(str(tmp_path / "no-such-source"), None)
    assert list(tmp_path.iterdir()) == []


def test_writer_replaces_a_part(tmp_path):
    spool = Spool([_chunk(tmp_path, "a", range(3))])
    table = events_table([event_row(i) for i in range(2)])
    with spool.writer("valid-events", table.schema) as w:
        w.write_table(table)
    assert spool.read("valid-events").equals(table) and spool.rows("valid-events") == 2
    assert isinstance(spool.read("quarantine"), pa.Table)
    spool.close()


def test_batch_rows_setting(monkeypatch):
    monkeypatch.delenv("COMPLIANCE_QUALITY_BATCH_ROWS", raising=False)
    assert batch_rows_setting() == 250_000 and batch_rows_setting(9) == 9
    monkeypatch.setenv("COMPLIANCE_QUALITY_BATCH_ROWS", "1000")
    assert batch_rows_setting() == 1000
    for bad in ("0", "-3", "many"):
        monkeypatch.setenv("COMPLIANCE_QUALITY_BATCH_ROWS", bad)
        with pytest.raises(ConfigError, match="COMPLIANCE_QUALITY_BATCH_ROWS"):
            batch_rows_setting()


def test_a_spool_folder_that_is_not_one_stops_the_run_up_front(tmp_path, monkeypatch):
    from tasks.quality.job import check
    from tests.quality.test_bounded import _cfg

    monkeypatch.setenv("COMPLIANCE_SPOOL_DIR", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="COMPLIANCE_SPOOL_DIR: .*missing is not a folder"):
        check(None, _cfg())
