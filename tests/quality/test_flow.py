"""One smoke test of the telemetry_quality flow: real Prefect, moto over HTTP, signed bundle."""

from __future__ import annotations

import io
import json
from datetime import date

import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

pytestmark = pytest.mark.prefect


def _key(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "signing.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    return path


def test_telemetry_quality_flow_end_to_end(prefect_harness, s3, buckets, tmp_path, monkeypatch):
    from flows.jobs import telemetry_quality
    from tasks.telemetry.generator import generate_fleet

    bucket, rb = buckets.data_bucket, buckets.reports_bucket
    generate_fleet(
        f"s3://{bucket}/", users=4, days=2, seed=3, start=date(2026, 11, 19), s3_client=s3
    )
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("quality:\n  max_quarantine_rate: 0.5\n")
    for k, v in {"AWS_ENDPOINT_URL": buckets.endpoint_url, "COMPLIANCE_DATA_BUCKET": bucket,
                 "COMPLIANCE_REPORTS_BUCKET": rb, "COMPLIANCE_SIGNING_KEY": str(_key(tmp_path)),
                 "COMPLIANCE_RETENTION_DAYS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    out = telemetry_quality(since="2026-11-19", until="2026-11-21", config_path=str(cfg))
    assert out["job"] == "telemetry-quality" and out["bundle"].endswith("attestation.dsse.json")
    c = out["counts"]
    assert c["records_in"] == c["valid"] + c["quarantined"] and c["events_valid"] > 0
    prefix = out["bundle"].split("/", 3)[3].rsplit("/", 1)[0]
    listed = {
        o["Key"].rsplit("/", 1)[1] for o in s3.list_objects_v2(Bucket=rb, Prefix=prefix)["Contents"]
    }
    assert {"report.json", "report.html", "quarantine.csv", "gx-validation-tasks.json",
            "gx-validation-events.json", "attestation.dsse.json"} <= listed  # fmt: skip
    report = json.loads(s3.get_object(Bucket=rb, Key=f"{prefix}/report.json")["Body"].read())
    gate = report["summary"]["gate"]
    assert report["status"] == out["status"] and gate["status"] in ("pass", "warn")
    html = s3.get_object(Bucket=rb, Key=f"{prefix}/report.html")["Body"].read().decode()
    assert "<svg" in html and "Quarantine counts by reason" in html
    for day in ("2026-11-19", "2026-11-20"):
        record = json.loads(
            s3.get_object(Bucket=bucket, Key=f"state/telemetry-quality/gate/{day}.json")[
                "Body"
            ].read()
        )
        assert record == {
            "status": gate["status"],
            "run_id": out["run_id"],
            "reasons": gate["reasons"],
        }
        key = f"validated/events/date={day}/{out['run_id']}.parquet"
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        assert table.num_rows > 0 and set(table.column("team").to_pylist()) - {None}
    # A dry run reports the same way but writes nothing: no bundle, no tables, no gate change.
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="validated/")["Contents"]}
    dry = telemetry_quality(
        since="2026-11-19", until="2026-11-21", dry_run=True, config_path=str(cfg)
    )
    assert (
        dry["bundle"] is None and dry["status"] == out["status"] and dry["counts"] == out["counts"]
    )
    after = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="validated/")["Contents"]}
    assert after == before
    record = json.loads(
        s3.get_object(Bucket=bucket, Key="state/telemetry-quality/gate/2026-11-20.json")[
            "Body"
        ].read()
    )
    assert record["run_id"] == out["run_id"]
