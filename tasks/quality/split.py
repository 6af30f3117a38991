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
    """One table's split: counts, quarantine records and reasons (summed over batches);
    `valid`/`keep` only for a table split whole (`split_table`)."""

    table: str
    rows_in: int = 0
    valid_rows: int = 0
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)
    valid: pa.Table | None = None
    keep: np.ndarray | None = None  # row mask of the validated rows

    @property
    def counts(self) -> dict[str, int]:
        return {"in": self.rows_in, "valid": self.valid_rows, "quarantined": len(self.quarantine)}

    def add(
        self, frame: pd.DataFrame, outcome: SuiteOutcome, seen: dict[str, set] | None
    ) -> np.ndarray:
        """Split one batch (its index: the rows' positions in the whole table); the mask
        of its valid rows. `seen`: the keys of repeated rows met in earlier batches."""
        keep, bad, reasons = _split_rows(frame, outcome, seen)
        self.rows_in += len(frame)
        self.valid_rows += int(keep.sum())
        if len(bad):
            self._quarantine(frame, outcome, bad, reasons)
        return keep

    def _quarantine(self, frame: pd.DataFrame, outcome: SuiteOutcome, bad: np.ndarray,
                    reasons: list[list[str]]) -> None:  # fmt: skip
        cols = [c for c in EXCERPT_COLUMNS if c in frame.columns]
        sub = frame.loc[bad, cols]
        day_col = (
            "ts"
            if "ts" in frame.columns
            else ("started_at" if "started_at" in frame.columns else None)
        )
        for row, names, rec in zip(bad, reasons, sub.to_dict("records"), strict=True):
            rec = {k: (None if pd.isna(v) else v) for k, v in rec.items()}
            day = rec.get(day_col) if day_col else None
            self.quarantine.append(
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
                self.by_reason[n] = self.by_reason.get(n, 0) + 1


def _repeats(
    frame: pd.DataFrame, rows: np.ndarray, cols: list[str], seen: set | None
) -> np.ndarray:
    """Which of `rows` (unexpected rows of a uniqueness expectation, in order) repeat a key
    met before: over the whole frame (`seen` None) or across batches (`seen`: keys so far)."""
    if seen is None:
        return frame.duplicated(subset=cols, keep="first").to_numpy()[rows - frame.index[0]]
    out = np.zeros(len(rows), dtype=bool)
    keys = frame.loc[rows, cols].itertuples(index=False, name=None)
    for i, key in enumerate(keys):
        key = tuple(None if pd.isna(v) else v for v in key)  # NaN equals NaN, as duplicated()
        out[i] = key in seen
        seen.add(key)
    return out


def _failing_rows(
    frame: pd.DataFrame, outcome: SuiteOutcome, seen: dict[str, set] | None
) -> pd.DataFrame:
    """(row, name) pairs of this frame's rows, one per failed row-level expectation."""
    lo, hi = (int(frame.index[0]), int(frame.index[-1]) + 1) if len(frame) else (0, 0)
    parts = []
    for o in outcome.outcomes:
        if not o.spec.quarantine or not o.unexpected_index:
            continue
        rows = np.asarray(o.unexpected_index, dtype=np.int64)
        rows = rows[(rows >= lo) & (rows < hi)]
        cols = UNIQUE_TYPES.get(o.spec.type)
        if cols and len(rows):
            mine = None if seen is None else seen.setdefault(o.spec.name, set())
            rows = rows[_repeats(frame, rows, cols(o.kwargs), mine)]
        if len(rows):
            parts.append(pd.DataFrame({"row": rows, "name": o.spec.name}))
    if not parts:
        return pd.DataFrame(
            {"row": pd.Series([], dtype="int64"), "name": pd.Series([], dtype="str")}
        )
    return pd.concat(parts, ignore_index=True)


def _excerpt(record: dict[str, Any]) -> str:
    return orjson.dumps(record, default=str).decode()[:EXCERPT_MAX]


def _split_rows(frame: pd.DataFrame, outcome: SuiteOutcome, seen: dict[str, set] | None):
    """(keep mask, quarantined row positions in order, their expectation names)."""
    pairs = _failing_rows(frame, outcome, seen)
    reasons = pairs.groupby("row", sort=True)["name"].agg(list) if len(pairs) else pd.Series()
    bad = reasons.index.to_numpy(dtype=np.int64) if len(reasons) else np.array([], np.int64)
    keep = np.ones(len(frame), dtype=bool)
    if len(bad):
        keep[bad - int(frame.index[0])] = False
    return keep, bad, reasons.to_list() if len(bad) else []


def split_table(table: pa.Table, frame: pd.DataFrame, outcome: SuiteOutcome) -> SplitResult:
    """A table split whole: validated rows (an Arrow slice of the original table) and
    quarantine records (repeats found by `frame.duplicated`)."""
    result = SplitResult(table=outcome.table)
    keep = result.add(frame, outcome, None)
    result.keep, result.valid = keep, table.filter(pa.array(keep))
    return result
