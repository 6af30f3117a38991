"""On a generated fleet (generator + ingest): planted malformed records and incidents are
caught, counts balance, a clean fleet passes, and the outputs land in the data bucket."""

from __future__ import annotations

import io
import json
from datetime import date

import pyarrow.parquet as pq
import pytest

from tasks.common.models import Severity
from tasks.common.periods import period_days, resolve_period
from tasks.quality.config import QualityConfig
from tasks.quality.frames import parse_roster
from tasks.quality.parameters import expectation_parameters
from tasks.quality.storage import HISTORY_KEY, gate_key, write_outputs
from tests.quality.spooled import assess_tables, valid

START = date(2026, 11, 17)
PERIOD = resolve_period("2026-11-17", "2026-11-20")
CFG = QualityConfig()
SIGNAL_OF = {
    "auth_failure_burst": "auth_failure_spike",
    "command_timeout_burst": "command_timeout_rate",
    "rollback_burst": "rollback_burst",
    "write_outside_workspace": "write_outside_workspace",
    "write_burst": "write_burst",
    "spend_spike": "spend_acceleration",
}


def _run(tmp, validator, suites, seed: int, clean: bool):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    truth = generate_fleet(str(tmp), users=10, days=3, seed=seed, start=START, clean=clean)
    raw = ingest(str(tmp / "raw"), period=PERIOD)
    roster = parse_roster((tmp / "raw/org/roster.csv").read_bytes(), "roster.csv")
    params = expectation_parameters(PERIOD, CFG, {})
    tables = {"tasks": raw.tasks, "events": raw.events}
    a = assess_tables(
        tables, raw.counts, raw.quarantine, suites, PERIOD, CFG, params, roster, validator
    )
    return truth, raw, a


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, validator, suites):
    return _run(tmp_path_factory.mktemp("fleet"), validator, suites, seed=7, clean=False)


@pytest.fixture(scope="module")
def clean_fleet(tmp_path_factory, validator, suites):
    return _run(tmp_path_factory.mktemp("clean"), validator, suites, seed=11, clean=True)


def test_every_planted_malformed_record_is_quarantined_with_its_reason(fleet):
    truth, _, a = fleet
    assert truth["malformed"]
    rows = a.parse_quarantine
    for m in truth["malformed"]:
        hits = [r for r in rows if r["source"].endswith(m["file"]) and r["reason"] == m["reason"]]
        if "position" in m:  # a byte offset may be reported as its message, or the whole file
            where = {m["position"], m.get("message"), "file"}
            hits = [r for r in hits if r["position"] in where]
        assert hits, f"planted {m} not quarantined"
    assert a.counts["parse_quarantined"] == len(truth["malformed"])  # nothing else was
    assert sum(a.quarantine_by_reason.values()) == len(truth["malformed"])


def test_every_planted_incident_raises_its_signal(fleet):
    truth, _, a = fleet
    planted = [i for i in truth["incidents"] if i["kind"] in SIGNAL_OF]
    assert {i["kind"] for i in planted} == set(SIGNAL_OF)
    raised = {(s.kind, s.user, s.day) for s in a.signals}
    for i in planted:
        assert (SIGNAL_OF[i["kind"]], i["user"], i["day"]) in raised, (
            f"{i['id']} {i['kind']} missed"
        )
    assert len(raised) == len(planted)  # and no false alarm next to them
    outside = next(s for s in a.signals if s.kind == "write_outside_workspace")
    inc = next(i for i in planted if i["kind"] == "write_outside_workspace")
    assert set(inc["details"]["paths"]) <= set(outside.details["paths"])
    for s in a.signals:
        f = s.finding()
        assert {"value", "baseline", "threshold"} <= set(f.details) and f.message == s.why


def test_counts_balance(fleet):
    _, raw, a = fleet
    assert raw.counts["records_in"] == raw.counts["valid"] + raw.counts["quarantined"]
    c = a.counts
    assert c["events_in"] == raw.counts["valid"] == raw.events.num_rows
    assert c["records_in"] == c["valid"] + c["quarantined"]
    assert c["records_in"] == raw.counts["records_in"] + raw.tasks.num_rows
    assert c["tasks_in"] == c["tasks_valid"] + c["tasks_quarantined"]
    assert c["events_in"] == c["events_valid"] + c["events_quarantined"]
    assert a.gate.status == "warn"  # signals and a few parse errors: reported, data usable


def test_clean_fleet_passes_without_findings_of_high_severity(clean_fleet):
    truth, _, a = clean_fleet
    assert truth["incidents"] == [] and truth["malformed"] == []
    assert [f for f in a.findings if f.severity.rank >= Severity.high.rank] == []
    assert a.gate.status == "pass" and a.status.value == "pass" and a.signals == []
    assert a.metrics["fleet"]["tasks"] > 0 and 0 < a.metrics["fleet"]["success_rate"] <= 1


def test_outputs_land_in_the_data_bucket(fleet, s3, buckets):
    from tasks.budget.reader import read_gate

    _, _, a = fleet
    bucket = buckets.data_bucket
    keys = write_outputs(s3, bucket, "20261120T010000Z-abcd1234", PERIOD, a, update_history=True)
    days = period_days(PERIOD)
    for table in ("tasks", "events"):
        total = 0
        for day in days:
            key = f"validated/{table}/date={day}/20261120T010000Z-abcd1234.parquet"
            assert key in keys
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            total += pq.read_table(io.BytesIO(body)).num_rows
        assert total == valid(a, table).num_rows
    lines = []
    for key in (k for k in keys if k.startswith("quarantine/")):
        lines += s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines()
    assert len(lines) == a.counts["quarantined"]
    assert all(json.loads(line)["reasons"] for line in lines)
    for day in days:
        gate = json.loads(s3.get_object(Bucket=bucket, Key=gate_key(day))["Body"].read())
        assert gate == {
            "status": "warn",
            "run_id": "20261120T010000Z-abcd1234",
            "reasons": gate["reasons"],
        }
        assert read_gate(s3, bucket, day)["status"] == "warn"  # what cost-budget reads
    history = json.loads(s3.get_object(Bucket=bucket, Key=HISTORY_KEY)["Body"].read())
    assert sum(history["days"][d.isoformat()]["events"] for d in days) == a.counts["events_valid"]
