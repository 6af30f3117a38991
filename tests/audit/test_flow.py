"""Smoke test: the audit_trail flow under the Prefect harness, S3 over HTTP (moto)."""

from __future__ import annotations

import json

import yaml

from tasks.audit.bundles import list_ledger_bundles
from tasks.common.s3 import s3_client
from tasks.common.storage import get_bytes
from tests.audit.conftest import sample_rows, table
from tests.audit.days import read_ledger
from tests.audit.test_job import put_parquet


def test_flow_publishes_one_bundle_per_day_and_a_rerun_is_identical(
    prefect_harness, s3, buckets, tmp_path
):
    from flows.jobs import audit_trail
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    priv, pub, _ = generate_key_files(tmp_path / "keys")
    ensure_buckets(s3_client(buckets), buckets, public_key_pem=pub.read_bytes())
    put_parquet(
        s3, buckets.data_bucket, "validated/events/date=2026-11-20/r.parquet", table(sample_rows())
    )
    config = tmp_path / "compliance.yaml"
    storage = buckets.model_dump(exclude_none=True) | {"signing_key": str(priv)}
    config.write_text(
        yaml.safe_dump({"storage": storage, "audit": {"deny_commands": [r"^git\s+push\b"]}})
    )

    out = audit_trail(since="2026-11-19", until="2026-11-21", config_path=str(config))
    assert [r["status"] for r in out["runs"]] == ["warn", "fail"]  # 19th: no input; 20th: findings
    assert out["status"] == "fail" and out["bundle"] == out["runs"][1]["bundle"]
    bundles, _ = list_ledger_bundles(s3, buckets.reports_bucket)
    assert [str(b.day) for b in bundles] == ["2026-11-19", "2026-11-20"]
    report = json.loads(get_bytes(s3, buckets.reports_bucket, bundles[1].prefix + "report.json"))
    assert report["summary"]["completeness"]["complete"] is True
    assert report["summary"]["by_kind"]["file_write"] == 2
    checks = {f["check"] for f in report["findings"]}
    assert checks == {"audit.write_outside_workspace", "audit.denied_command"}
    assert len(read_ledger(s3, bundles[1])) == 8
    names = {o["Key"].rsplit("/", 1)[1] for o in s3.list_objects_v2(Bucket=buckets.reports_bucket, Prefix=bundles[1].prefix)["Contents"]}  # fmt: skip
    assert {
        "ledger.jsonl.gz",
        "ledger.csv",
        "report.json",
        "report.html",
        "attestation.dsse.json",
    } <= names

    again = audit_trail(since="2026-11-20", until="2026-11-21", config_path=str(config))
    bundles, _ = list_ledger_bundles(s3, buckets.reports_bucket, [bundles[1].day])
    rerun = json.loads(get_bytes(s3, buckets.reports_bucket, bundles[-1].prefix + "report.json"))
    assert again["bundle"].startswith(f"s3://{buckets.reports_bucket}/{bundles[-1].prefix}")
    assert rerun["summary"]["rerun"]["identical"] is True
    assert rerun["summary"]["ledger_sha256"] == report["summary"]["ledger_sha256"]
