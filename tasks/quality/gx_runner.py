"""Run a suite on a frame with real Great Expectations (1.x fluent API, ephemeral context).

One context per job run (creation is slow-ish): a pandas data source, one dataframe asset
per table with a whole-dataframe batch definition, and `batch.validate(suite, ...)` with
result_format COMPLETE so every failing row comes back in `unexpected_index_list`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tasks.quality.suites import ExpectationSpec, LoadedSuite

RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "return_unexpected_index_query": False,
    "include_unexpected_rows": False,
}


@dataclass
class ExpectationOutcome:
    spec: ExpectationSpec
    success: bool
    raised: str | None  # the exception message when GX could not evaluate it
    kwargs: dict[str, Any]
    unexpected_index: list[int] | None  # row positions, for row-level expectations
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: Any = None


@dataclass
class SuiteOutcome:
    table: str
    suite_file: str
    success: bool
    rows: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # GX's validation result, JSON-ready

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


def make_context():
    """An ephemeral GX context with progress bars off (they would flood job logs)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


class GxValidator:
    """Holds one context and one data source; validates any number of tables."""

    def __init__(self, context=None) -> None:
        self.context = context or make_context()
        self.source = self.context.data_sources.add_or_update_pandas("telemetry")
        self._batch_defs: dict[str, Any] = {}

    def _batch_definition(self, table: str):
        if table not in self._batch_defs:
            asset = self.source.add_dataframe_asset(name=table)
            self._batch_defs[table] = asset.add_batch_definition_whole_dataframe(f"{table}-whole")
        return self._batch_defs[table]

    def validate_raw(self, table: str, frame: pd.DataFrame, suite, parameters: dict[str, Any]):
        """Bare GX: the ExpectationSuiteValidationResult (also what the benchmark times)."""
        batch = self._batch_definition(table).get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(
            suite, result_format=RESULT_FORMAT, expectation_parameters=dict(parameters)
        )

    def validate(
        self, loaded: LoadedSuite, frame: pd.DataFrame, parameters: dict[str, Any]
    ) -> SuiteOutcome:
        result = self.validate_raw(loaded.table, frame, loaded.suite, parameters)
        return self._outcome(loaded, result, len(frame))

    def validate_batches(
        self,
        loaded: LoadedSuite,
        frames: Callable[[], Iterable[pd.DataFrame]],
        parameters: dict[str, Any],
    ) -> SuiteOutcome:
        """The same outcome as `validate` on the concatenated frames, one batch in memory
        at a time (each frame's index continues the previous one's; see batched.py)."""
        from tasks.quality.batched import validate_batched

        rows = 0

        def counted() -> Iterator[pd.DataFrame]:
            nonlocal rows
            rows = 0
            for f in frames():
                rows += len(f)
                yield f

        result = validate_batched(self, loaded.table, loaded.suite, counted, parameters)
        return self._outcome(loaded, result, rows)

    def _outcome(self, loaded: LoadedSuite, result: Any, rows: int) -> SuiteOutcome:
        outcome = SuiteOutcome(
            table=loaded.table,
            suite_file=str(loaded.path.name),
            success=bool(result.success),
            rows=rows,
        )
        for r in result.results:
            config = r.expectation_config
            spec = loaded.spec_named(config.meta["name"])
            res = r.result or {}
            info = r.exception_info or {}
            raised = info.get("exception_message") if info.get("raised_exception") else None
            index = res.get("unexpected_index_list")
            outcome.outcomes.append(
                ExpectationOutcome(
                    spec=spec,
                    success=bool(r.success) and raised is None,
                    raised=raised,
                    kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
                    unexpected_index=[int(i) for i in index] if index is not None else None,
                    unexpected_count=res.get("unexpected_count"),
                    unexpected_percent=res.get("unexpected_percent"),
                    observed_value=res.get("observed_value"),
                )
            )
        strip_values(result)  # after the row positions were read; also makes this fast
        outcome.raw = result.to_json_dict()
        return outcome


# GX result keys holding row *values*; values may be free text (commands, paths), so only
# counts and row positions go into the bundle, and value counts only for vocabulary columns.
VALUE_KEYS = ("unexpected_list", "partial_unexpected_list", "unexpected_index_query")
VOCABULARY = {"kind", "tool", "provider", "category", "type", "source", "status"}
VOCABULARY |= {"error_class", "api_protocol", "mode"}
INDEX_CAP = 1000


def strip_values(result) -> None:
    """Drop row values from a GX validation result and cap its row-position lists; drop
    the batch's load time and data fingerprint (a batched validation has no one frame to
    fingerprint, and a load time makes two runs over the same data differ)."""
    markers = (result.meta or {}).get("batch_markers")
    if isinstance(markers, dict):
        markers.pop("ge_load_time", None)
        markers.pop("pandas_data_fingerprint", None)
    for r in result.results:
        res = r.result
        if not res:
            continue
        column = r.expectation_config.kwargs.get("column")
        for key in VALUE_KEYS:
            res.pop(key, None)
        counts = res.pop("partial_unexpected_counts", None)
        if column in VOCABULARY and counts:
            res["partial_unexpected_counts"] = [
                {"value": str(c.get("value"))[:80], "count": c.get("count")} for c in counts[:20]
            ]
        for key in ("unexpected_index_list", "partial_unexpected_index_list"):
            if isinstance(res.get(key), list) and len(res[key]) > INDEX_CAP:
                res[f"{key}_truncated_from"] = len(res[key])
                res[key] = res[key][:INDEX_CAP]
