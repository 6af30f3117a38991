"""The run's spool: the period's tables as local Parquet parts, read back batch by batch,
so telemetry-quality's memory does not grow with the period (issue 19, item 3).

    chunk = ingest_to_spool(source, users, s3_client=c, period=p)   # per ingest chunk
    spool = Spool([chunk, ...])                                      # in chunk order
    for table in spool.batches("events", 250_000): ...               # Arrow, in row order
    with spool.writer("valid-events", schema) as w: w.write_table(t) # the job's own parts
    spool.close()                                                    # the folders removed

Each chunk writes its own folder (under COMPLIANCE_SPOOL_DIR, default the system's temp
folder; with Dask workers on other hosts it must be a folder they share). The run's spool
owns every chunk folder it was given and its own: `close` (after publishing) removes them,
and so does the garbage collector if a step failed before.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.common.errors import ConfigError, StorageError
from tasks.common.models import Period
from tasks.common.settings import positive_int_setting
from tasks.telemetry.ingest import Ingestion
from tasks.telemetry.schema import EVENTS_SCHEMA, QUARANTINE_SCHEMA, TASKS_SCHEMA

SPOOL_DIR_ENV = "COMPLIANCE_SPOOL_DIR"
BATCH_ROWS_ENV = "COMPLIANCE_QUALITY_BATCH_ROWS"
DEFAULT_BATCH_ROWS = 250_000  # rows per Great Expectations batch (a few hundred MB at most)
SCHEMAS = {"tasks": TASKS_SCHEMA, "events": EVENTS_SCHEMA, "quarantine": QUARANTINE_SCHEMA}


def batch_rows_setting(value: int | str | None = None) -> int:
    """Rows per batch: the argument, else COMPLIANCE_QUALITY_BATCH_ROWS, else the default."""
    n = positive_int_setting(value, BATCH_ROWS_ENV, "rows per batch")
    return DEFAULT_BATCH_ROWS if n is None else n


def spool_root() -> str | None:
    """COMPLIANCE_SPOOL_DIR (None: the system's temporary folder); not a folder: one line."""
    root = os.environ.get(SPOOL_DIR_ENV) or None
    if root is not None and not os.path.isdir(root):
        raise ConfigError(f"{SPOOL_DIR_ENV}: {root} is not a folder")
    return root


@dataclass
class SpooledChunk:
    """One ingest chunk's parts on disk (a small handle: what a Dask worker sends back)."""

    folder: str
    counts: dict[str, int]
    rows: dict[str, int] = field(default_factory=dict)

    def path(self, name: str) -> str | None:
        return os.path.join(self.folder, f"{name}.parquet") if self.rows.get(name) else None


class _Writers:
    """One ParquetWriter per table name, opened on its first batch."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.open: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if name not in self.open:
            path = os.path.join(self.folder, f"{name}.parquet")
            self.open[name] = pq.ParquetWriter(path, table.schema, compression="zstd")
        self.open[name].write_table(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def close(self) -> None:
        for w in self.open.values():
            w.close()


def ingest_to_spool(
    source: str, users: Sequence[str] | None, *, s3_client: Any = None,
    period: Period | None = None,
) -> SpooledChunk:  # fmt: skip
    """Ingest (restricted to `users`; None: all) streamed into a new spool folder."""
    folder = tempfile.mkdtemp(prefix="tq-chunk-", dir=spool_root())
    writers = _Writers(folder)
    try:
        run = Ingestion(source, s3_client=s3_client, period=period,
                        users=None if users is None else list(users))  # fmt: skip
        for name, table in run:
            writers.write(name, table)
        writers.close()
    except BaseException:
        writers.close()
        shutil.rmtree(folder, ignore_errors=True)  # a retried chunk starts afresh
        raise
    return SpooledChunk(folder, dict(run.counts), dict(writers.rows))


def _remove(folders: list[str]) -> None:
    for f in folders:
        shutil.rmtree(f, ignore_errors=True)


class Spool:
    """The run's tables on disk: the chunks' parts in chunk order, plus the job's own."""

    def __init__(self, chunks: Iterable[SpooledChunk]) -> None:
        chunks = list(chunks)
        for c in chunks:
            if not os.path.isdir(c.folder):
                raise StorageError(
                    f"{c.folder}: ingest chunk folder not found here ({SPOOL_DIR_ENV} must be "
                    "a folder the workers share)"
                )
        self.folder = tempfile.mkdtemp(prefix="tq-run-", dir=spool_root())
        self.parts: dict[str, list[str]] = {
            name: [p for c in chunks if (p := c.path(name))] for name in SCHEMAS
        }
        self.schemas: dict[str, pa.Schema] = dict(SCHEMAS)
        self._close = weakref.finalize(self, _remove, [self.folder, *(c.folder for c in chunks)])

    def rows(self, name: str) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.parts.get(name, []))

    def batches(self, name: str, rows: int) -> Iterator[pa.Table]:
        """The table `name` in row order, `rows` rows at a time (the last batch shorter)."""
        held: list[pa.Table] = []
        count, yielded = 0, False
        for path in self.parts.get(name, []):
            for rb in pq.ParquetFile(path).iter_batches(batch_size=rows):
                held.append(pa.Table.from_batches([rb]))
                count += rb.num_rows
                while count >= rows:
                    table = pa.concat_tables(held)
                    yield table.slice(0, rows)
                    yielded = True
                    rest = table.slice(rows)
                    held, count = ([rest] if rest.num_rows else []), rest.num_rows
        if count or not yielded:  # an empty table is one empty batch, validated as such
            yield pa.concat_tables(held) if count else self.schemas[name].empty_table()

    def read(self, name: str) -> pa.Table:
        """The whole table (small ones: quarantine; tests)."""
        tables = [pq.read_table(p) for p in self.parts.get(name, [])]
        return pa.concat_tables(tables) if tables else self.schemas[name].empty_table()

    def writer(self, name: str, schema: pa.Schema) -> pq.ParquetWriter:
        """A new part `name` of the run's own (replacing any earlier one)."""
        path = os.path.join(self.folder, f"{name}.parquet")
        self.parts[name], self.schemas[name] = [path], schema
        return pq.ParquetWriter(path, schema, compression="zstd")

    def close(self) -> None:
        self._close()

    @property
    def closed(self) -> bool:
        return not self._close.alive
