"""Test driver: in-memory tables through the job's evaluation (written to a spool first,
as ingest does, then assessed batch by batch)."""

from __future__ import annotations

import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tasks.quality.assess import Assessment, assess
from tasks.quality.spool import Spool, SpooledChunk


def spool_of(tables: dict[str, pa.Table]) -> Spool:
    folder = tempfile.mkdtemp(prefix="tq-test-")
    for name, table in tables.items():
        if table.num_rows:
            pq.write_table(table, f"{folder}/{name}.parquet")
    return Spool([SpooledChunk(folder, {}, {n: t.num_rows for n, t in tables.items()})])


def assess_tables(tables: dict[str, pa.Table], *args: Any, **kwargs: Any) -> Assessment:
    """`assess` over `tables` ({"tasks": …, "events": …}); the rest as assess takes it."""
    return assess(spool_of(tables), *args, **kwargs)


def valid(a: Assessment, name: str) -> pa.Table:
    """The valid rows of table `name` the assessment kept."""
    return a.valid.read(f"valid-{name}")
