"""Free text in the derived tables goes through the redaction engine before it is written.

Agents' commands, file paths and workspaces can hold secrets (`export AWS_ACCESS_KEY_ID=…`,
`https://user:ghp_…@github.com/…`) and personal data. validated/ outlives the raw logs that
log-retention redacts and deletes, so these columns are redacted on the way in, with the
same engine, configuration and key as the task logs: a secret gets the same
`[REDACTED:<kind>:<hmac8>]` marker in both, and equal values still correlate.
Identifiers (user, task_id, team, model, …) are left alone: readers join on them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tasks.retention.config import RedactionConfig, parse_redaction, redaction_key
from tasks.retention.engine import Redactor, thread_redactor

FREE_TEXT = {"events": ("command", "path", "workspace"), "tasks": ("workspace",)}


def derived_redactor(section: dict[str, Any] | None, source: str = "config") -> Redactor:
    """The engine for `redaction:` and its required key (one-line ConfigError without one)."""
    cfg: RedactionConfig = parse_redaction(section, source)
    return thread_redactor(cfg, redaction_key(cfg))


def redact_column(column: pa.ChunkedArray | pa.Array, redactor: Redactor) -> tuple[pa.Array, int]:
    """The column with every distinct non-null value redacted once; (column, values changed)."""
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    distinct = pc.unique(values)
    changed = 0
    out: list[str | None] = []
    for value in distinct.to_pylist():
        if value is None:
            out.append(None)
            continue
        red = redactor.redact_text(value.encode("utf-8", "surrogatepass"))
        text = red.decode("utf-8", "surrogatepass") if red is not None else value
        changed += text != value
        out.append(text)
    if not changed:
        return values, 0
    return pa.array(out, type=values.type).take(pc.index_in(values, value_set=distinct)), changed


def redact_table(name: str, table: pa.Table, redactor: Redactor) -> tuple[pa.Table, Counter[str]]:
    """`table` with its free-text columns redacted; counts of changed values per column."""
    counts: Counter[str] = Counter()
    for column in FREE_TEXT.get(name, ()):
        if column not in table.column_names or table.num_rows == 0:
            continue
        redacted, changed = redact_column(table.column(column), redactor)
        if changed:
            table = table.set_column(table.column_names.index(column), column, redacted)
            counts[f"{name}.{column}"] += changed
    return table, counts
