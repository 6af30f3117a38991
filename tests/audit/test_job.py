"""One day of the job against real S3 over HTTP (moto server): read, build, check, rerun."""

from __future__ import annotations

import io
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.audit.bundles import list_ledger_bundles
from tasks.audit.config import AuditConfig
from tasks.audit.job import result_of
from tasks.audit.ledger import parse_ledger
from tasks.common.errors import ConfigError, InputError
from tasks.common.jobrun import finish_job
from tasks.common.models import RunStatus
from tasks.common.periods import period_days, resolve_period
from tasks.common.s3 import s3_client
from tests.audit.conftest import sample_rows, table, tel, ui
from tests.audit.days import read_ledger, run_day

DAY = date(2026, 11, 20)
PREFIX = "validated/events/date=2026-11-20/"


def put_parquet(s3, bucket: str, key: str, t: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(t, buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def trusted(client, bundle):  # stands in for tasks.evidence.verify in these unit tests
    return []


@pytest.fixture
def day_data(s3, buckets):
    rows = sample_rows()
    put_parquet(s3, buckets.data_bucket, PREFIX + "run-a.parquet", table(rows[:8]))
    put_parquet(s3, buckets.data_bucket, PREFIX + "run-b.parquet", table(rows[8:]))
    tasks = pa.table({"task_id": ["t2"], "workspace": ["/srv/bob"]})
    put_parquet(s3, buckets.data_bucket, "validated/tasks/date=2026-11-20/run-a.parquet", tasks)
    return buckets


def test_run_day_builds_a_complete_ledger_from_all_parts(s3, day_data):
    r = run_day(s3, day_data.data_bucket, None, DAY, AuditConfig(), verify=trusted)
    assert r.summary["entries"] == 8
    assert r.summary["completeness"] == {
        "mutating_rows": 11,
        "duplicates_dropped": 3,
        "expected_entries": 8,
        "ledger_entries": 8,
        "unclassified_mutating_rows": 0,
        "complete": True,
    }
    assert len(parse_ledger(bytes(r.files["ledger.jsonl.gz"]))) == 8
    assert [i["uri"].rsplit("/", 1)[-1] for i in r.inputs] == [
        "run-a.parquet",
        "run-b.parquet",
        "run-a.parquet",
    ]
    assert {e["workspace"] for e in r.ledger.entries if e["task_id"] == "t2"} == {"/srv/bob"}
    checks = sorted(f.check for f in r.findings)
    assert checks == ["audit.write_outside_workspace"]  # ../other/x.py
    assert r.status == RunStatus.fail  # a high finding
    assert r.summary["rerun"] == {"checked": False, "reason": "no reports bucket"}


def test_scoped_run_and_period_days(s3, day_data):
    r = run_day(s3, day_data.data_bucket, None, DAY, AuditConfig(), user="bob", verify=trusted)
    assert r.summary["by_user"] == {"bob": {"command": 1, "mode_switch": 1}}
    assert r.summary["completeness"]["complete"]
    p = resolve_period("2026-11-18", "2026-11-21")
    assert period_days(p) == [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
    assert period_days(resolve_period(None, "2026-11-21")) == [DAY]
    with pytest.raises(ConfigError, match="until 2026-11-20 is not after since 2026-11-20"):
        resolve_period("2026-11-20", "2026-11-20")


def test_unclassified_mutating_row_fails_completeness(s3, buckets):
    rows = [
        ui(1, 1, user="u", task_id="t", kind="tool", tool="appliedDiff", path="a", mutates=True),
        tel(2, 2, user="u", task_id="t", kind="Tool Used", tool="browser_action", mutates=True),
    ]
    put_parquet(s3, buckets.data_bucket, PREFIX + "x.parquet", table(rows))
    r = run_day(s3, buckets.data_bucket, None, DAY, AuditConfig(), verify=trusted)
    [f] = [f for f in r.findings if f.check == "audit.completeness"]
    assert f.severity == "critical" and f.details["expected_entries"] == 2
    assert f.details["ledger_entries"] == 1
    assert f.details["unclassified_examples"] == [["telemetry", "Tool Used", "browser_action"]]
    assert r.status == RunStatus.fail and not r.summary["completeness"]["complete"]


def test_empty_day_is_an_error_finding_not_a_silent_gap(s3, buckets):
    r = run_day(s3, buckets.data_bucket, None, DAY, AuditConfig(), verify=trusted)
    assert r.summary["entries"] == 0 and r.summary["completeness"]["complete"]
    assert [f.check for f in r.findings] == ["audit.no_input"]


def test_unreadable_part_is_one_line_naming_the_object(s3, buckets):
    s3.put_object(Bucket=buckets.data_bucket, Key=PREFIX + "bad.parquet", Body=b"not parquet")
    with pytest.raises(
        InputError,
        match=r"s3://data-\w+/validated/events/date=2026-11-20/bad.parquet: not a readable parquet",
    ):
        run_day(s3, buckets.data_bucket, None, DAY, AuditConfig(), verify=trusted)


def _publish(r, settings):
    return finish_job("audit-trail", r.period, result_of(r), settings)  # fmt: skip


@pytest.fixture
def signed(day_data, tmp_path):
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    priv, pub, _fp = generate_key_files(tmp_path / "keys")
    settings = day_data.model_copy(update={"signing_key": str(priv)})
    ensure_buckets(s3_client(settings), settings, public_key_pem=pub.read_bytes())  # keys/<fp>.pem
    return settings


def test_rerun_identical_is_said_and_a_changed_one_is_a_finding(s3, signed):
    # the real verifier (tasks.evidence.verify) checks each previous bundle here, trusting
    # the job's own signing key
    from tasks.audit.bundles import job_verifier

    def day_run(**kw):
        kw.setdefault("verify", job_verifier(signed))
        return run_day(s3, signed.data_bucket, signed.reports_bucket, DAY, AuditConfig(), **kw)

    first = day_run()
    assert first.summary["rerun"] == {"previous_bundles": 0}
    out = _publish(first, signed)
    scoped = day_run(user="bob")  # a partial ledger: published, but never a day's record
    assert scoped.counts_extra == {"ledger_entries": 2, "scoped": 1}
    _publish(scoped, signed)
    second = day_run()
    assert second.summary["rerun"]["identical"] is True
    assert second.summary["rerun"]["previous_bundle"] == out["bundle"]
    assert second.summary["rerun"]["previous_bundles"] == 1
    assert not [f for f in second.findings if f.check == "audit.ledger_changed"]
    _publish(second, signed)
    # a late part adds one action: the third run records the difference
    late = [tel(300, 99, user="bob", team="data", task_id="t2", kind="Checkpoint Restored", category="rollback", mutates=True)]  # fmt: skip
    put_parquet(s3, signed.data_bucket, PREFIX + "run-c.parquet", table(late))
    third = day_run()
    [f] = [f for f in third.findings if f.check == "audit.ledger_changed"]
    assert (f.details["added"], f.details["removed"]) == (1, 0)
    assert third.summary["rerun"]["previous_bundles"] == 2
    assert third.summary["rerun"]["identical"] is False
    assert third.status == RunStatus.fail
    bundles, broken = list_ledger_bundles(s3, signed.reports_bucket, [DAY])
    assert len(bundles) == 2 and broken == []
    assert read_ledger(s3, bundles[0]) == first.ledger.entries
    assert len(list_ledger_bundles(s3, signed.reports_bucket, [DAY], include_scoped=True)[0]) == 3


def test_previous_bundle_that_fails_verification_is_not_trusted(s3, signed):
    _publish(
        run_day(s3, signed.data_bucket, signed.reports_bucket, DAY, AuditConfig(), verify=trusted),
        signed,
    )
    r = run_day(
        s3,
        signed.data_bucket,
        signed.reports_bucket,
        DAY,
        AuditConfig(),
        verify=lambda c, b: ["signature does not verify"],
    )
    [f] = [f for f in r.findings if f.check == "audit.previous_bundle_invalid"]
    assert "signature does not verify" in f.message and r.summary["rerun"]["identical"] is None
