"""The telemetry-quality job over its spool, batch by batch, gives byte-identical bundle
contents (findings, summary, files, charts, tables, counts) to the in-memory evaluation
(tests/quality/oracle.py) on the demo fleet and on a fleet with planted bad records,
duplicated telemetry lines and a provider outage; with batches small enough that many run."""

from __future__ import annotations

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
    return inputs, module.evaluate(inputs, cfg), cfg


def _duplicate_lines(s3, bucket: str) -> None:
    """Three telemetry lines of one day's file appended again at the end of another day's
    file: the same events twice, far apart (in different batches)."""
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/events/")
                  .get("Contents", []) if o["Key"].endswith(".jsonl"))  # fmt: skip
    first = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
    last = s3.get_object(Bucket=bucket, Key=keys[-1])["Body"].read()
    lines = first.splitlines(keepends=True)[:3]
    s3.put_object(Bucket=bucket, Key=keys[-1], Body=last + b"".join(lines))


@pytest.fixture(params=["demo", "planted"])
def fleet(request, s3, buckets):
    from tasks.telemetry.generator import generate_fleet

    bucket = buckets.data_bucket
    if request.param == "demo":
        generate_fleet(f"s3://{bucket}/", 4, 2, 3, start=START, s3_client=s3)
    else:
        generate_fleet(f"s3://{bucket}/", 8, 2, 11, start=START, s3_client=s3,
                       plant=("provider_outage",))  # fmt: skip
        _duplicate_lines(s3, bucket)
    return buckets


def test_job_bundle_equals_the_in_memory_evaluation(fleet, s3, validator):
    want = contents(in_memory_result(s3, fleet.data_bucket, PERIOD, _cfg(), validator=validator))
    _, got, _ = _job(fleet)
    import sys; sys.path.insert(0, "/tmp/q"); import diff; diff.show(contents(got), want)
    assert contents(got) == want
    assert want["counts"]["quarantined"] > 0 and want["findings"]


@pytest.mark.parametrize("batch_rows", ["97", "1000"])
def test_small_batches_run_many_and_give_the_same_bundle(fleet, s3, validator, monkeypatch,
                                                         batch_rows):  # fmt: skip
    want = contents(in_memory_result(s3, fleet.data_bucket, PERIOD, _cfg(), validator=validator))
    monkeypatch.setenv(BATCH_ENV, batch_rows)
    inputs, got, _ = _job(fleet)
    a = got.state
    events = want["counts"]["events_in"]
    assert a.batches["events"] == -(-events // int(batch_rows)) > 1  # every batch ran
    assert contents(got) == want


def test_team_filter_through_the_spool_equals_the_in_memory_one(fleet, s3, validator,
                                                                monkeypatch):  # fmt: skip
    from tasks.quality.storage import read_roster

    roster, _ = read_roster(s3, fleet.data_bucket)
    team = sorted(roster["team"].dropna().unique())[0]
    want = in_memory_result(s3, fleet.data_bucket, PERIOD, _cfg(), team=team, validator=validator)
    monkeypatch.setenv(BATCH_ENV, "150")
    _, got, _ = _job(fleet, team=team)
    assert contents(got) == contents(want)
