"""The telemetry-quality job over its spool, batch by batch, gives byte-identical bundle
contents (findings, summary, files, charts, tables, counts) to the in-memory evaluation
(tests/quality/oracle.py) on the demo fleet and on a fleet with planted bad records,
duplicated telemetry lines and a provider outage; with batches small enough that many run."""

from __future__ import annotations

import os
import re
import uuid
from datetime import date

import pytest

from tasks.common.contract import JobConfig, Scope, Steps, gather
from tasks.common.periods import resolve_period
from tasks.quality.config import QualityConfig
from tests.quality.oracle import contents, in_memory_result

BATCH_ENV = "COMPLIANCE_QUALITY_BATCH_ROWS"
START = date(2026, 11, 19)
PERIOD = resolve_period("2026-11-19", "2026-11-21")


def _cfg() -> JobConfig:
    from tasks.retention.config import parse_redaction

    return JobConfig(quality=QualityConfig(), redaction=parse_redaction({}, "test"))


def _job(settings, team=None, user=None):
    import tasks.quality.job as module

    cfg = _cfg()
    scope = Scope(team=team, user=user, run_id="r1")
    inputs = gather(Steps(), module, settings, cfg, PERIOD, scope)
    result = module.evaluate(inputs, cfg)
    return inputs, result, cfg


def _plant_bad_lines(s3, bucket: str) -> None:
    """A telemetry file read last holding the first three lines of the first file again
    (the same events twice, far apart: in different batches) and a request costing more
    than `max_request_cost`: rows ingest keeps and the suites quarantine."""
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/events/")
                  .get("Contents", []) if o["Key"].endswith(".jsonl"))  # fmt: skip
    lines = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read().splitlines(keepends=True)
    costly = next(line for line in lines if b'"cost":' in line)
    costly = re.sub(rb'"cost":[0-9.e-]+', b'"cost":500.0', costly)
    planted = keys[-1].rsplit("/", 1)[0] + "/zz-planted.jsonl"
    s3.put_object(Bucket=bucket, Key=planted, Body=b"".join(lines[:3]) + costly)


@pytest.fixture(scope="module", params=["demo", "planted"])
def fleet(request, s3_server, validator):
    """(settings, s3 client, the oracle's bundle contents) of one generated fleet."""
    from tasks.common.s3 import s3_client
    from tasks.common.settings import StorageSettings
    from tasks.telemetry.generator import generate_fleet

    suffix = uuid.uuid4().hex[:10]
    settings = StorageSettings(endpoint_url=s3_server.endpoint_url, data_bucket=f"data-{suffix}",
                               reports_bucket=f"reports-{suffix}", retention_days=1)  # fmt: skip
    s3 = s3_client(settings)
    bucket = settings.data_bucket
    s3.create_bucket(Bucket=bucket)
    if request.param == "demo":
        generate_fleet(f"s3://{bucket}/", 4, 2, 3, start=START, s3_client=s3)
    else:
        generate_fleet(f"s3://{bucket}/", 6, 2, 11, start=START, s3_client=s3,
                       plant=("provider_outage",))  # fmt: skip
        _plant_bad_lines(s3, bucket)
    want = contents(in_memory_result(s3, bucket, PERIOD, _cfg(), validator=validator))
    counts = want["counts"]
    assert counts["quarantined"] > 0 and want["findings"]  # bad records were planted
    if request.param == "planted":  # rows only the suites catch, repeats across batches
        reasons = want["summary"]["quarantine_by_reason"]
        assert reasons["events.unique_message"] == 3 and counts["events_quarantined"] >= 4
        assert "provider_degradation" in {s["kind"] for s in want["summary"]["signals"]}
    return settings, s3, want


def test_job_bundle_equals_the_in_memory_evaluation(fleet):
    settings, _, want = fleet
    inputs, got, _ = _job(settings)
    assert got.state.batches == {"tasks": 1, "events": 1}  # the default fits these in one
    assert contents(got) == want
    inputs.raw.spool.close()


def test_small_batches_run_many_and_give_the_same_bundle(fleet, monkeypatch):
    settings, _, want = fleet
    events = want["counts"]["events_in"]
    rows = events // 5 + 1
    monkeypatch.setenv(BATCH_ENV, str(rows))
    inputs, got, _ = _job(settings)
    assert got.state.batches["events"] == -(-events // rows) == 5  # every batch ran
    assert contents(got) == want
    spool = inputs.raw.spool
    folders = [spool.folder, *{os.path.dirname(p) for p in spool.parts["events"]}]
    assert all(os.path.isdir(f) for f in folders)
    spool.close()  # after_publish does this; nothing is left behind
    assert not any(os.path.exists(f) for f in folders)


def test_team_filter_through_the_spool_equals_the_in_memory_one(fleet, monkeypatch, validator):
    from tasks.quality.storage import read_roster

    settings, s3, _ = fleet
    roster, _ = read_roster(s3, settings.data_bucket)
    team = sorted(roster["team"].dropna().unique())[0]
    want = in_memory_result(s3, settings.data_bucket, PERIOD, _cfg(), team=team,
                            validator=validator)  # fmt: skip
    monkeypatch.setenv(BATCH_ENV, str(want.counts_extra["events_in"] // 3 + 1))
    inputs, got, _ = _job(settings, team=team)
    assert got.state.batches["events"] == 3
    assert contents(got) == contents(want)
    inputs.raw.spool.close()
