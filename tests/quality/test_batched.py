"""Great Expectations run batch by batch and merged (tasks/quality/batched.py) against one
validation of the whole table, on a generated fleet with its planted malformed records,
split into batches of different sizes; duplicates placed in different batches count."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest

from tasks.common.periods import resolve_period
from tasks.quality.batched import BatchMergeError, validate_batched
from tasks.quality.config import QualityConfig
from tasks.quality.frames import to_frame
from tasks.quality.gx_runner import strip_values
from tasks.quality.parameters import expectation_parameters

START = date(2026, 11, 17)
PERIOD = resolve_period("2026-11-17", "2026-11-19")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    tmp = tmp_path_factory.mktemp("batched")
    generate_fleet(str(tmp), users=3, days=2, seed=5, start=START, clean=False)
    raw = ingest(str(tmp / "raw"), period=PERIOD)
    events = raw.events
    # rows repeated far from their first copy: the same key in two different batches
    events = pa.concat_tables([events, events.slice(3, 4), events.slice(events.num_rows // 2, 1)])
    return {"events": events, "tasks": pa.concat_tables([raw.tasks, raw.tasks.slice(0, 2)])}


def _frames(table: pa.Table, sizes: list[int]):
    def frames():
        start, i = 0, 0
        while start < table.num_rows:
            n = sizes[i % len(sizes)]
            f = to_frame(table.slice(start, n))
            f.index = pd.RangeIndex(start, start + f.shape[0])  # global row positions
            yield f
            start, i = start + n, i + 1

    return frames


def _by_name(result):
    strip_values(result)
    return {r.expectation_config.meta["name"]: (bool(r.success), r.result) for r in result.results}


@pytest.mark.parametrize("sizes", [[5000], [1, 4096, 33]])
@pytest.mark.parametrize("name", ["events", "tasks"])
def test_batched_validation_equals_the_whole_one(fleet, validator, suites, name, sizes):
    params = expectation_parameters(PERIOD, QualityConfig(), {})
    table, suite = fleet[name], suites[name].suite
    whole = validator.validate_raw(name, to_frame(table), suite, params)
    merged = validate_batched(validator, name, suite, _frames(table, sizes), params)
    assert merged.success == whole.success
    assert merged.statistics == whole.statistics
    got, want = _by_name(merged), _by_name(whole)
    assert got == want
    failing = {n for n, (ok, res) in want.items() if res.get("unexpected_count")}
    assert failing  # the planted records make some expectations find rows
    unique = next(n for n in want if "unique" in n)
    assert want[unique][1]["unexpected_count"] >= 2  # the repeated rows, across batches
    if len(sizes) > 1:  # the job's outcome (row positions, counts) through the validator
        a = validator.validate(suites[name], to_frame(table), params)
        b = validator.validate_batches(suites[name], _frames(table, sizes), params)
        assert (b.success, b.rows, b.outcomes) == (a.success, a.rows, a.outcomes)


def test_a_result_that_differs_between_batches_is_refused(validator, suites):
    from tests.quality.factory import event_row, events_table

    table = events_table([event_row(i) for i in range(4)])
    frame = to_frame(table)
    halves = [frame.iloc[:2], frame.iloc[2:].astype({"schema_version": "float64"})]
    params = expectation_parameters(PERIOD, QualityConfig(), {})
    with pytest.raises(BatchMergeError, match="differs between batches"):
        validate_batched(validator, "events", suites["events"].suite, lambda: iter(halves), params)
