"""The suites in expectations/: GX's JSON shape, the schema contract, broken files."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tasks.common.errors import ComplianceError
from tasks.quality.suites import DEFAULT_DIR, SuiteError, load_suite, load_suites
from tasks.telemetry.classify import (
    EVENT_SPECS,
    KIND_SPECS,
    READ_TOOLS,
    WRITE_TOOL_IDS,
    WRITE_TOOLS,
)
from tasks.telemetry.schema import CATEGORIES, ERROR_CLASSES, EVENTS_SCHEMA, TASKS_SCHEMA


def _gx_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "str"
    if pa.types.is_timestamp(t):
        return "Timestamp"
    if pa.types.is_boolean(t):
        return "bool"
    return {pa.float64(): "float64", pa.int64(): "int64", pa.int32(): "int32", pa.int16(): "int16"}[
        t
    ]


def _kwargs(suite, etype):
    return [e for e in json.loads(suite.path.read_text())["expectations"] if e["type"] == etype]


def test_suites_are_gx_json_loaded_from_files(suites):
    assert set(suites) == {"tasks", "events", "roster"}
    for loaded in suites.values():
        data = json.loads(loaded.path.read_text())
        assert loaded.path.parent == DEFAULT_DIR
        # GX built every expectation of the file, and serialises back to the same entries
        back = loaded.suite.to_json_dict()
        assert [e["type"] for e in back["expectations"]] == [
            e["type"] for e in data["expectations"]
        ]
        for ours, theirs in zip(data["expectations"], back["expectations"], strict=True):
            assert theirs["kwargs"] == ours["kwargs"]
            assert theirs["meta"]["severity"] in ("critical", "warning")
        assert {s.severity for s in loaded.specs} == {"critical", "warning"}


@pytest.mark.parametrize("table, schema", [("tasks", TASKS_SCHEMA), ("events", EVENTS_SCHEMA)])
def test_schema_and_types_match_the_contract(suites, table, schema):
    loaded = suites[table]
    (cols,) = _kwargs(loaded, "expect_table_columns_to_match_ordered_list")
    assert cols["kwargs"]["column_list"] == schema.names
    assert cols["meta"]["severity"] == "critical"
    types = {
        e["kwargs"]["column"]: e["kwargs"]["type_"]
        for e in _kwargs(loaded, "expect_column_values_to_be_of_type")
    }
    assert types == {f.name: _gx_type(f.type) for f in schema}


def test_enumerations_cover_the_vocabulary(suites):
    sets = {
        e["kwargs"]["column"]: set(e["kwargs"]["value_set"])
        for e in _kwargs(suites["events"], "expect_column_values_to_be_in_set")
    }
    assert sets["category"] == set(CATEGORIES)
    assert sets["error_class"] == set(ERROR_CLASSES)
    assert set(KIND_SPECS) | set(EVENT_SPECS) <= sets["kind"]
    assert sets["tool"] >= WRITE_TOOLS | READ_TOOLS | WRITE_TOOL_IDS
    assert {"anthropic", "openrouter", "bedrock", "openai-native"} <= sets["provider"]
    task_sets = {
        e["kwargs"]["column"]: set(e["kwargs"]["value_set"])
        for e in _kwargs(suites["tasks"], "expect_column_values_to_be_in_set")
    }
    assert task_sets["status"] == {"completed", "active", "delegated", "failed", "unknown"}


def test_period_bounds_are_gx_parameters(suites):
    (ts,) = [
        e
        for e in _kwargs(suites["events"], "expect_column_values_to_be_between")
        if e["kwargs"]["column"] == "ts"
    ]
    assert ts["kwargs"]["min_value"] == {"$PARAMETER": "period_start"}
    assert ts["kwargs"]["max_value"] == {"$PARAMETER": "ts_max"}


GOOD = {
    "type": "expect_column_values_to_not_be_null",
    "kwargs": {"column": "user"},
    "meta": {"severity": "critical"},
}


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "is not valid JSON (line 1)"),
        (
            json.dumps(
                {
                    "name": "s",
                    "meta": {"table": "t"},
                    "expectations": [{**GOOD, "type": "expect_nonsense"}],
                }
            ),
            "unknown expectation type 'expect_nonsense'",
        ),
        (
            json.dumps(
                {"name": "s", "meta": {"table": "t"}, "expectations": [{**GOOD, "kwargs": {}}]}
            ),
            "expectations[0] (expect_column_values_to_not_be_null) is invalid: column",
        ),
        (
            json.dumps(
                {
                    "name": "s",
                    "meta": {"table": "t"},
                    "expectations": [{**GOOD, "kwargs": {"column": "a", "bogus": 1}}],
                }
            ),
            "is invalid: bogus",
        ),
        (
            json.dumps(
                {"name": "s", "meta": {"table": "t"}, "expectations": [{**GOOD, "meta": {}}]}
            ),
            "meta.severity must be one of",
        ),
        (json.dumps({"name": "s", "expectations": [GOOD]}), "meta.table"),
        (
            json.dumps({"name": "s", "meta": {"table": "t"}, "expectations": [GOOD, GOOD]}),
            "names must be unique",
        ),
        (json.dumps({"name": "s", "meta": {"table": "t"}, "expectations": []}), "non-empty list"),
    ],
)
def test_broken_suite_fails_with_one_line_naming_the_file(tmp_path, content, fragment):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert isinstance(info.value, ComplianceError)
    assert message.startswith(f"{path}: ") and fragment in message
    assert "\n" not in message


def test_load_suites_names_the_broken_file_among_good_ones(tmp_path):
    for name in ("events.json", "tasks.json"):
        (tmp_path / name).write_text((DEFAULT_DIR / name).read_text())
    data = json.loads((DEFAULT_DIR / "tasks.json").read_text())
    data["meta"]["table"] = "other"
    data["expectations"][3]["type"] = "expect_column_values_to_be_sparkly"
    (tmp_path / "zz-other.json").write_text(json.dumps(data))
    with pytest.raises(
        SuiteError, match=r"zz-other\.json: expectations\[3\].*unknown expectation type"
    ):
        load_suites(tmp_path)
