"""Type expectations under pandas 3: they pass on really ingested frames, fail on wrong types.

pandas 3 reads Arrow strings as the `str` dtype (not `object`), so the suites expect
"str" via expect_column_values_to_be_of_type; integers are nullable Int dtypes (a null
would otherwise make float64) and timestamps tz-aware (a naive column fails "Timestamp").
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tasks.quality.frames import to_frame

TYPE = "expect_column_values_to_be_of_type"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    out = tmp_path_factory.mktemp("fleet")
    generate_fleet(str(out), users=2, days=1, seed=5, start=date(2026, 11, 19), clean=True)
    result = ingest(str(out / "raw"))
    assert result.events.num_rows and result.tasks.num_rows
    return {"tasks": to_frame(result.tasks), "events": to_frame(result.events)}


def _type_suite(loaded):
    from great_expectations.core import ExpectationSuite

    configs = [e.configuration for e in loaded.suite.expectations if e.expectation_type == TYPE]
    return ExpectationSuite(name=f"{loaded.table}-types", expectations=configs)


def _failed_columns(validator, table, frame, loaded) -> dict[str, str]:
    result = validator.validate_raw(table, frame, _type_suite(loaded), {})
    assert len(result.results) == len(frame.columns)
    return {
        r.expectation_config.kwargs["column"]: r.result.get("observed_value")
        for r in result.results
        if not r.success
    }


def test_ingested_frames_use_pandas3_dtypes(ingested):
    events = ingested["events"]
    assert isinstance(events["kind"].dtype, pd.StringDtype) and events["kind"].dtype == "str"
    assert events["tokens_in"].dtype == "Int64" and events["seq"].dtype == "Int32"
    assert str(events["ts"].dtype) == "datetime64[ms, UTC]"
    assert not any(pd.api.types.is_object_dtype(dt) for dt in events.dtypes)


@pytest.mark.parametrize("table", ["tasks", "events"])
def test_type_expectations_pass_on_real_ingested_frames(validator, suites, ingested, table):
    assert _failed_columns(validator, table, ingested[table], suites[table]) == {}


def test_type_expectations_fail_on_wrong_types(validator, suites, ingested):
    frame = ingested["events"].copy()
    frame["user"] = range(len(frame))  # int64 where str is expected
    frame["tokens_in"] = frame["tokens_in"].astype("float64")  # what a null does without Int64
    frame["ts"] = frame["ts"].dt.tz_localize(None)  # naive timestamps
    frame["cost"] = frame["cost"].astype("str")  # numbers as text
    failed = _failed_columns(validator, "events", frame, suites["events"])
    assert failed == {"user": "int64", "tokens_in": "float64", "ts": "datetime64", "cost": "str"}
