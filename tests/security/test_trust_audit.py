"""audit search and audit-trail's rerun check trust only pinned keys (issue 13, item 2).

The attacker (writer role) publishes a newer, empty ledger for a day, signed with its own
key and with that key placed under keys/. Before: `audit search` took the newest bundle
that verified against keys/, so the forgery hid every action of the real ledger.
"""

# ruff: noqa: F401, F811 - pytest fixtures imported from trust_helpers
from __future__ import annotations

import json
import time
import uuid
from datetime import date

from click.testing import CliRunner

from cli.audit import audit
from tasks.audit.bundles import job_verifier
from tasks.audit.config import AuditConfig
from tasks.audit.job import result_of
from tasks.common.jobrun import finish_job
from tests.audit.conftest import table, ui
from tests.audit.days import run_day
from tests.audit.test_job import put_parquet

from .trust_helpers import legit, rogue, upload_key

DAY = date(2026, 11, 20)


def test_forged_newer_ledger_neither_hides_the_real_one_nor_is_compared(
    s3, buckets, legit, rogue, monkeypatch
):
    bucket = buckets.reports_bucket
    job = buckets.model_copy(update={"signing_key": legit[0].source})
    upload_key(s3, bucket, legit[0])
    rows = [ui(1, 10, user="ann", task_id="t1", kind="command", command="rm -rf build", mutates=True)]  # fmt: skip
    put_parquet(s3, job.data_bucket, f"validated/events/date={DAY}/r.parquet", table(rows))
    real = run_day(s3, job.data_bucket, bucket, DAY, AuditConfig(), verify=job_verifier(job))
    real_uri = finish_job("audit-trail", real.period, result_of(real), job)["bundle"]  # fmt: skip

    # the writer: an empty ledger for the same day, signed with its own key (in keys/)
    empty = f"data-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=empty)
    attacker = buckets.model_copy(update={"signing_key": rogue[0].source, "data_bucket": empty})
    upload_key(s3, bucket, rogue[0])
    forged = run_day(s3, empty, None, DAY, AuditConfig(), verify=lambda c, b: [])
    time.sleep(1.1)  # a later run id: the forgery is the day's newest bundle
    forged_uri = finish_job("audit-trail", forged.period, result_of(forged), attacker)["bundle"]  # fmt: skip

    for var, value in {
        "AWS_ENDPOINT_URL": buckets.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": bucket,
        "COMPLIANCE_CONFIG": "",
        "COMPLIANCE_TRUSTED_KEYS": "",
    }.items():
        monkeypatch.setenv(var, value)
    args = ["search", "--since", "2026-11-20", "--until", "2026-11-21", "--json"]
    res = CliRunner().invoke(audit, [*args, "--trusted-key", legit[2]])
    out = json.loads(res.stdout)
    assert [m["bundle"] for m in out["matches"]] == [real_uri]
    assert [r["bundle"] for r in out["rejected"]] == [forged_uri]
    assert "unknown_key" in out["rejected"][0]["problem"]
    assert res.exit_code == 1  # a rejected bundle in the period is said, with exit 1
    # no pin at all: one line, no search
    res = CliRunner().invoke(audit, args)
    assert res.exit_code == 2 and "no trusted key" in res.output

    # the job's next rerun for the day compares against the real ledger, not the forgery
    again = run_day(s3, job.data_bucket, bucket, DAY, AuditConfig(), verify=job_verifier(job))
    assert again.summary["rerun"]["previous_bundle"] == forged_uri  # the newest is looked at…
    [f] = [f for f in again.findings if f.check == "audit.previous_bundle_invalid"]
    assert "unknown_key" in f.message  # …and refused, never trusted
