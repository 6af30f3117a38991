"""No clear-text secret survives in derived data (issue 13: "secrets in agent commands,
then log-retention with raw_days: 0").

End to end on real S3 HTTP (moto server) and real Prefect: a generated fleet plus one task
whose agent ran commands holding an AWS access key id and a GitHub token, and wrote a file
whose path holds the token; telemetry-quality derives validated/ tables; log-retention with
`raw_days: 0` redacts and deletes the raw logs. Then every object left in the data bucket is
read back (Parquet decoded cell by cell, everything else as bytes): neither secret may
appear, and the validated command still says what ran, with the secret replaced by the
engine's `[REDACTED:<kind>:<hmac8>]` marker.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.common.settings import AppConfig

pytestmark = pytest.mark.prefect

AKIA = "AKIA" + "QWERTYUIOPASDFGH"
GHP = "ghp_" + "R8x2Kq9LmN4pT7vW1yZ3bC5dF6gH0jJ2kL4m"
SECRETS = (AKIA, GHP)
DAY = date(2026, 11, 19)


def _plant(s3, bucket: str) -> str:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="raw/roo/")["Contents"]
    key = next(o["Key"] for o in listed if o["Key"].endswith("/ui_messages.json"))
    messages = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    ts = max(m["ts"] for m in messages) + 1000
    messages += [
        {"ts": ts, "type": "ask", "ask": "command",
         "text": f"export AWS_ACCESS_KEY_ID={AKIA} && git push https://me:{GHP}@github.com/o/r"},
        {"ts": ts + 1, "type": "ask", "ask": "tool",
         "text": json.dumps({"tool": "newFileCreated", "path": f"notes/{GHP}.md",
                             "content": "x"})},
    ]  # fmt: skip
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(messages).encode())
    return key


def _strings(table: pa.Table) -> list[str]:
    out: list[str] = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            out += [v for v in column.to_pylist() if v]
    return out


def _leaks(s3, bucket: str) -> list[str]:
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            if obj["Key"].endswith(".parquet"):
                text = "\n".join(_strings(pq.read_table(io.BytesIO(body))))
            else:
                text = body.decode("utf-8", "replace")
            found += [f"{obj['Key']}: {s[:8]}…" for s in SECRETS if s in text]
    return found


def test_secrets_in_commands_and_paths_never_reach_validated_nor_survive_retention(
    prefect_harness, s3, buckets, tmp_path, monkeypatch
):
    from flows.jobs import telemetry_quality
    from tasks.evidence.signer import generate_key_files
    from tasks.retention.runner import run_retention
    from tasks.telemetry.generator import generate_fleet

    bucket, rb = buckets.data_bucket, buckets.reports_bucket
    generate_fleet(f"s3://{bucket}/", users=2, days=1, seed=5, start=DAY, s3_client=s3)
    _plant(s3, bucket)
    priv = generate_key_files(tmp_path / "keys")[0]
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("quality:\n  max_quarantine_rate: 0.5\n")
    for k, v in {"AWS_ENDPOINT_URL": buckets.endpoint_url, "COMPLIANCE_DATA_BUCKET": bucket,
                 "COMPLIANCE_REPORTS_BUCKET": rb, "COMPLIANCE_SIGNING_KEY": str(priv),
                 "COMPLIANCE_RETENTION_DAYS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    out = telemetry_quality(since=DAY.isoformat(), until=(DAY + timedelta(days=1)).isoformat(),
                            config_path=str(cfg))  # fmt: skip
    key = f"validated/events/date={DAY}/{out['run_id']}.parquet"
    events = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    commands = [c for c in events.column("command").to_pylist() if c and "git push" in c]
    assert commands and all(
        "[REDACTED:" in c and "export AWS_ACCESS_KEY_ID=" in c for c in commands
    )
    paths = [p for p in events.column("path").to_pylist() if p and p.startswith("notes/")]
    assert paths and all("[REDACTED:" in p for p in paths)
    leaks_before_retention = [x for x in _leaks(s3, bucket) if x.startswith(("validated/", "quarantine/", "state/"))]  # fmt: skip
    assert leaks_before_retention == []

    config = AppConfig(
        storage=buckets.model_copy(update={"signing_key": str(priv)}),
        sections={"retention": {"raw_days": 0}}, source="test.yaml",
    )  # fmt: skip
    run_retention(config, s3, now=datetime.now(UTC) + timedelta(days=1))
    assert _leaks(s3, bucket) == []


def test_quality_without_a_redaction_key_stops_before_any_work(
    prefect_harness, s3, buckets, tmp_path, monkeypatch
):
    from flows.jobs import telemetry_quality
    from tasks.common.errors import ConfigError

    monkeypatch.delenv("COMPLIANCE_REDACTION_KEY", raising=False)
    for k, v in {"AWS_ENDPOINT_URL": buckets.endpoint_url,
                 "COMPLIANCE_DATA_BUCKET": buckets.data_bucket,
                 "COMPLIANCE_REPORTS_BUCKET": buckets.reports_bucket}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("quality: {}\n")
    with pytest.raises(ConfigError, match="COMPLIANCE_REDACTION_KEY"):
        telemetry_quality(since=DAY.isoformat(), config_path=str(cfg))
    assert "Contents" not in s3.list_objects_v2(Bucket=buckets.data_bucket, Prefix="validated/")
