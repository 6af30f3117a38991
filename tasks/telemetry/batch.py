"""Parse a batch of ui_messages.json files.

A batch is a list of (TaskContext, file bytes). Files that typed decoding accepts go to
the columnar parser together; the rest (and the tasks it calls irregular) to the row
parser, the reference. The result is plain data (Arrow tables and row tuples), so a
batch could be parsed anywhere; scale-out maps whole users over the task runner
(tasks/quality/chunks.py) instead: two processes on this project's 2-vCPU machines
measured no faster than one.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from tasks.telemetry.decode import decode_messages
from tasks.telemetry.fastpath import parse_batch
from tasks.telemetry.parse_task import TaskContext, parse_messages
from tasks.telemetry.typed import decode_typed

BATCH_BYTES = 4 * 1024 * 1024  # raw bytes parsed together (~10,000 messages)


@dataclass
class BatchResult:
    events: list[pa.Table] = field(default_factory=list)  # from the columnar parser
    event_rows: list[tuple] = field(default_factory=list)  # from the row parser
    task_rows: list[tuple] = field(default_factory=list)
    quarantine: list[tuple] = field(default_factory=list)


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic GC: parsing allocates many containers but makes no cycles, and
    full collections over a growing batch would cost more than the parsing itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_files(
    items: list[tuple[TaskContext, bytes]], period: tuple[int, int] | None, columnar: bool = True
) -> BatchResult:
    """Every file of the batch parsed; `columnar=False` takes the row parser for all."""
    with no_gc():
        return _parse_files(items, period, columnar)


def _parse_files(
    items: list[tuple[TaskContext, bytes]], period: tuple[int, int] | None, columnar: bool
) -> BatchResult:
    out = BatchResult()
    typed_batch: list[tuple[TaskContext, list]] = []
    typed_raw: list[bytes] = []
    by_row: list[tuple[TaskContext, bytes]] = []
    for ctx, raw in items:
        typed = decode_typed(raw) if columnar else None
        if typed:
            typed_batch.append((ctx, typed))
            typed_raw.append(raw)
        else:
            by_row.append((ctx, raw))
    if typed_batch:
        events, rows, irregular = parse_batch(typed_batch, period)
        if events.num_rows:
            out.events.append(events)
        out.task_rows.extend(rows)
        by_row.extend((typed_batch[i][0], typed_raw[i]) for i in irregular)
    for ctx, raw in by_row:
        msgs, lenient = decode_messages(raw, ctx.source + "/ui_messages.json", out.quarantine)
        row = parse_messages(msgs, ctx, out.event_rows, out.quarantine, lenient)
        out.task_rows.append(row)
    return out
