"""Smoke test: the log_retention flow under the Prefect harness, S3 over HTTP (moto)."""

from __future__ import annotations

import json

import orjson
import yaml

from tasks.common.s3 import s3_client
from tasks.common.storage import get_bytes

SECRET = "ghp_" + "Flow" * 9


def test_flow_redacts_deletes_and_publishes_the_manifest(prefect_harness, s3, buckets, tmp_path):
    from flows.jobs import log_retention
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    priv, pub, _ = generate_key_files(tmp_path / "keys")
    ensure_buckets(s3_client(buckets), buckets, public_key_pem=pub.read_bytes())
    data = buckets.data_bucket
    for user in ("ann", "bob"):
        body = orjson.dumps([{"ts": 1, "type": "say", "say": "text", "text": f"k {SECRET}"}])
        s3.put_object(Bucket=data, Key=f"raw/roo/{user}/tasks/t-{user}/ui_messages.json", Body=body)
    config = tmp_path / "compliance.yaml"
    storage = buckets.model_dump(exclude_none=True) | {"signing_key": str(priv)}
    retention = {"raw_days": 0, "legal_holds": {"users": ["bob"]}}
    config.write_text(yaml.safe_dump({"storage": storage, "retention": retention}))

    plan = log_retention(config_path=str(config), dry_run=True)
    assert plan["bundle"] is None
    assert len(s3.list_objects_v2(Bucket=data, Prefix="raw/roo/")["Contents"]) == 2

    out = log_retention(config_path=str(config))
    assert {"job", "run_id", "status", "bundle", "counts"} <= set(
        out
    )  # and the alerts, as every job
    assert out["status"] == "pass" and out["counts"]["deleted_versions"] == 1
    listing = s3.list_objects_v2(Bucket=data, Prefix="raw/roo/")["Contents"]
    assert [o["Key"] for o in listing] == ["raw/roo/bob/tasks/t-bob/ui_messages.json"]
    copy = get_bytes(s3, data, "redacted/roo/ann/tasks/t-ann/ui_messages.json")
    assert SECRET.encode() not in copy and b"[REDACTED:github_token:" in copy
    prefix = out["bundle"][len(f"s3://{buckets.reports_bucket}/") :].rsplit("/", 1)[0]
    manifest = get_bytes(s3, buckets.reports_bucket, f"{prefix}/manifest.jsonl")
    rows = [json.loads(x) for x in manifest.splitlines()]
    assert [r["key"] for r in rows] == ["raw/roo/ann/tasks/t-ann/ui_messages.json"]
    report = json.loads(get_bytes(s3, buckets.reports_bucket, f"{prefix}/report.json"))
    assert report["summary"]["legal_holds"] == 1
    for obj in s3.list_objects_v2(Bucket=buckets.reports_bucket, Prefix=prefix)["Contents"]:
        assert SECRET.encode() not in get_bytes(s3, buckets.reports_bucket, obj["Key"])
