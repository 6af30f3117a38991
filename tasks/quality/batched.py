"""A suite validated batch by batch with Great Expectations, the results merged into
exactly what one validation of the whole table gives (issue 19, item 3).

Each batch is a frame whose index continues the previous one's, so GX's row positions
are the whole table's. How each kind of expectation merges:

- row-level (column map) expectations: counts summed; unexpected_percent and the
  `mostly` verdict recomputed from the sums with GX's own formula (`_format_map_output`,
  `_mostly_success`); the index list concatenated (positions are global), the partial
  lists the first `partial_unexpected_count` of the concatenation, and the value counts
  from the concatenated unexpected values (kept as a first-seen-ordered Counter, as
  GX's `Counter(...).most_common` sees them);
- the row count (`expect_table_row_count_to_be_between`): the batches' rows summed and
  the bounds checked once on the sum;
- uniqueness across rows (`expect_compound_columns_to_be_unique`, `…_unique`): a
  second pass over the batches — a 64-bit hash per considered row, then the rows whose
  hash repeats are compared by value, so a duplicate in two different batches counts as
  GX counts it in one frame (every row of a repeated key is unexpected);
- table- or column-level ones (ordered columns, column types): the same answer in
  every batch, taken once; batches that disagree are a BatchMergeError (the whole frame
  would have to be validated at once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from tasks.common.errors import ComplianceError
from tasks.quality.gx_runner import RESULT_FORMAT, GxValidator

PARTIAL = 20  # GX's default partial_unexpected_count
UNIQUE_ACROSS_ROWS = {"expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"}
ROW_COUNT = "expect_table_row_count_to_be_between"


class BatchMergeError(ComplianceError):
    """A result that cannot be told from per-batch results (the message says which)."""


def _map_result(
    element: int, nonnull: int, unexpected: int, values: list[Any], counts: Counter,
    index: list[int], mostly: float, skip_missing: bool,
) -> tuple[bool, dict[str, Any]]:  # fmt: skip
    """GX's _format_map_output (COMPLETE, values included) for the summed figures;
    `skip_missing`: the expectation counts every row (not_null), GX then omits the
    missing figures."""
    success = True if element == 0 or nonnull == 0 else (nonnull - unexpected) / nonnull >= mostly
    missing = element - nonnull
    total_pct = unexpected / element * 100 if element > 0 else None
    nonmissing_pct = unexpected / nonnull * 100 if element > 0 and nonnull > 0 else None
    result: dict[str, Any] = {
        "element_count": element,
        "unexpected_count": unexpected,
        "unexpected_percent": total_pct if skip_missing else nonmissing_pct,
        "partial_unexpected_list": values[:PARTIAL],
    }
    if not skip_missing:
        result["missing_count"] = missing
        result["missing_percent"] = missing / element * 100 if element > 0 else None
        result["unexpected_percent_total"] = total_pct
        result["unexpected_percent_nonmissing"] = nonmissing_pct
    result["partial_unexpected_counts"] = [
        {"value": k, "count": v}
        for k, v in sorted(counts.most_common(PARTIAL), key=lambda x: (-x[1], x[0]))
    ]
    result["partial_unexpected_index_list"] = index[:PARTIAL]
    result["unexpected_list"] = values
    result["unexpected_index_list"] = index
    return success, result


class _MapMerge:
    """Running sums of one row-level expectation over the batches."""

    def __init__(self) -> None:
        self.element = self.nonnull = self.unexpected = 0
        self.values: list[Any] = []  # what GX returns (values are stripped before the bundle)
        self.counts: Counter = Counter()
        self.index: list[int] = []
        self.skip_missing = False

    def add(self, res: dict[str, Any]) -> None:
        self.skip_missing = "missing_count" not in res
        element, missing = res["element_count"], res.get("missing_count") or 0
        self.element += element
        self.nonnull += element - missing
        self.unexpected += res["unexpected_count"]
        values = res.get("unexpected_list") or []
        self.values += values
        self.counts.update(
            tuple(v.values()) if isinstance(v, dict) else v for v in values
        )  # first-seen order kept across batches, as in one list
        self.index += [int(i) for i in res.get("unexpected_index_list") or []]


def _duplicates(frames: Callable[[], Iterable[pd.DataFrame]], columns: list[str]) -> set[int]:
    """Row positions whose key (all `columns`; rows with every one missing are ignored, as
    GX's ignore_row_if='all_values_are_missing') occurs more than once in all batches."""
    hashes, positions = [], []
    for f in frames():
        keys = f[columns]
        considered = ~keys.isna().all(axis=1)
        hashes.append(pd.util.hash_pandas_object(keys[considered], index=False).to_numpy())
        positions.append(keys.index[considered].to_numpy())
    if not hashes:
        return set()
    h, pos = np.concatenate(hashes), np.concatenate(positions)
    uniq, counts = np.unique(h, return_counts=True)
    suspect = set(pos[np.isin(h, uniq[counts > 1])].tolist())
    if not suspect:
        return set()
    seen: dict[tuple, list[int]] = {}  # exact comparison of the few suspects' values
    for f in frames():
        rows = f.loc[f.index.isin(list(suspect)), columns]
        for i, key in zip(rows.index, rows.itertuples(index=False, name=None), strict=True):
            seen.setdefault(tuple(None if pd.isna(v) else v for v in key), []).append(int(i))
    return {i for group in seen.values() if len(group) > 1 for i in group}


def validate_batched(
    validator: GxValidator,
    table: str,
    suite: Any,
    frames: Callable[[], Iterable[pd.DataFrame]],
    parameters: dict[str, Any],
) -> Any:
    """One ExpectationSuiteValidationResult for the batches `frames()` yields (called once,
    and once more when the suite checks uniqueness across rows)."""
    from great_expectations.core import ExpectationSuiteValidationResult

    first: Any = None
    maps: dict[str, _MapMerge] = {}
    rows = 0
    for frame in frames():
        result = validator.validate_raw(table, frame, suite, parameters)
        rows += len(frame)
        if first is None:
            first = result
        for r, f in zip(result.results, first.results, strict=True):
            name = r.expectation_config.meta["name"]
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise BatchMergeError(f"{table}: {name} raised in a batch; validate whole")
            if "unexpected_count" in (r.result or {}) and "element_count" in r.result:
                maps.setdefault(name, _MapMerge()).add(r.result)
            elif r.expectation_config.type != ROW_COUNT and r.result != f.result:
                raise BatchMergeError(f"{table}: {name} differs between batches")
    if first is None:
        raise BatchMergeError(f"{table}: no batches")
    for r in first.results:
        config, name = r.expectation_config, r.expectation_config.meta["name"]
        kwargs = config.kwargs
        if config.type == ROW_COUNT:
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            r.success = (low is None or (rows > low if kwargs.get("strict_min") else rows >= low)) and (
                high is None or (rows < high if kwargs.get("strict_max") else rows <= high)
            )  # fmt: skip
            r.result = {"observed_value": rows}
        elif name in maps:
            m, multi = maps[name], config.type in UNIQUE_ACROSS_ROWS
            if multi:  # per-batch counts miss keys repeated in two batches: second pass
                columns = kwargs.get("column_list") or [kwargs["column"]]
                dup = _duplicates(frames, list(columns))
                m.index = sorted(dup)
                m.unexpected = len(dup)
                m.values, m.counts = [], Counter()  # values are not kept across batches
            mostly = 1.0 if kwargs.get("mostly") is None else kwargs["mostly"]
            r.success, r.result = _map_result(
                m.element, m.nonnull, m.unexpected, m.values, m.counts, m.index, mostly,
                m.skip_missing,
            )  # fmt: skip
    ok = sum(1 for r in first.results if r.success)
    n = len(first.results)
    return ExpectationSuiteValidationResult(
        success=ok == n,
        results=first.results,
        suite_name=first.suite_name,
        statistics={
            "evaluated_expectations": n,
            "successful_expectations": ok,
            "unsuccessful_expectations": n - ok,
            "success_percent": ok / n * 100 if n else None,
        },
        meta=first.meta,
    )


__all__ = ["RESULT_FORMAT", "BatchMergeError", "validate_batched"]
