"""Split a validated table into kept rows and quarantined rows, each with its reasons.

A row is quarantined when it is in the `unexpected_index_list` of any row-level
expectation whose meta.quarantine is not false (whether or not the expectation as a
whole passed its `mostly`). For uniqueness expectations the first occurrence stays and
only the repeats are quarantined, so a duplicated record is kept once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

from tasks.quality.gx_runner import SuiteOutcome

UNIQUE_TYPES = {
    "expect_column_values_to_be_unique": lambda kw: [kw["column"]],
    "expect_compound_columns_to_be_unique": lambda kw: list(kw["column_list"]),
}
# columns safe to show in a quarantine excerpt (no free text: commands, paths, prompts)
EXCERPT_COLUMNS = ("user", "task_id", "ts", "started_at", "seq", "source", "kind", "category")
EXCERPT_MAX = 200


@dataclass
class SplitResult:
    table: str
    rows_in: int
    valid: pa.Table
    keep: np.ndarray  # row mask of the validated rows
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "in": self.rows_in,
            "valid": self.valid.num_rows,
            "quarantined": len(self.quarantine),
        }


def _failing_rows(frame: pd.DataFrame, outcome: SuiteOutcome) -> pd.DataFrame:
    """(row, name) pairs, one per failed row-level expectation."""
    parts = []
    for o in outcome.outcomes:
        if not o.spec.quarantine or not o.unexpected_index:
            continue
        rows = np.asarray(o.unexpected_index, dtype=np.int64)
        cols = UNIQUE_TYPES.get(o.spec.type)
        if cols:
            repeats = frame.duplicated(subset=cols(o.kwargs), keep="first").to_numpy()
            rows = rows[repeats[rows]]
        if len(rows):
            parts.append(pd.DataFrame({"row": rows, "name": o.spec.name}))
    if not parts:
        return pd.DataFrame(
            {"row": pd.Series([], dtype="int64"), "name": pd.Series([], dtype="str")}
        )
    return pd.concat(parts, ignore_index=True)


def _excerpt(record: dict[str, Any]) -> str:
    return orjson.dumps(record, default=str).decode()[:EXCERPT_MAX]


def split_table(table: pa.Table, frame: pd.DataFrame, outcome: SuiteOutcome) -> SplitResult:
    """Validated rows (an Arrow slice of the original table) and quarantine records."""
    pairs = _failing_rows(frame, outcome)
    reasons = pairs.groupby("row", sort=True)["name"].agg(list) if len(pairs) else pd.Series()
    bad = reasons.index.to_numpy(dtype=np.int64) if len(reasons) else np.array([], np.int64)
    keep = np.ones(len(frame), dtype=bool)
    keep[bad] = False
    result = SplitResult(
        table=outcome.table, rows_in=len(frame), valid=table.filter(pa.array(keep)), keep=keep
    )
    if not len(bad):
        return result
    cols = [c for c in EXCERPT_COLUMNS if c in frame.columns]
    sub = frame.iloc[bad][cols]
    has_ts = "ts" in frame.columns
    day_col = "ts" if has_ts else ("started_at" if "started_at" in frame.columns else None)
    for row, names, rec in zip(bad, reasons.to_list(), sub.to_dict("records"), strict=True):
        rec = {k: (None if pd.isna(v) else v) for k, v in rec.items()}
        day = rec.get(day_col) if day_col else None
        result.quarantine.append(
            {
                "table": outcome.table,
                "stage": "validate",
                "source": f"{outcome.table}:{rec.get('user')}/{rec.get('task_id')}",
                "position": f"row {int(row)}" + (f" seq {rec['seq']}" if "seq" in rec else ""),
                "reason": names[0],
                "reasons": names,
                "detail": f"failed {len(names)} expectation(s) of {outcome.suite_file}",
                "record_excerpt": _excerpt(rec),
                "day": day.date().isoformat() if day is not None else None,
            }
        )
        for n in names:
            result.by_reason[n] = result.by_reason.get(n, 0) + 1
    return result
