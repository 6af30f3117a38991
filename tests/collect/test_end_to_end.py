"""Three developer machines -> the bucket -> telemetry-quality and access-review.

VS Code (Linux, the user whose state allows every command), Cursor (macOS) and
code-server (tasks only); the roster through `roster import`'s CSV path. The god-mode user
is flagged `roo_god_mode_auto_approve` from the collected snapshot, and
`compliance telemetry summarize` of the user's bucket prefix equals that of the local
storage folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tasks.collect.roster import from_csv
from tasks.collect.run import collect
from tasks.common.s3 import S3Uri
from tests.collect.fakehome import SECRETS
from tests.collect.helpers import bucket_objects, machine

ROOT = Path(__file__).resolve().parents[2]


def summarize(path: str, endpoint: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ENDPOINT_URL": endpoint}
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "telemetry", "summarize", path, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    data = json.loads(out.stdout)
    rows = data if isinstance(data, list) else data.get("tasks", data)
    return sorted(rows, key=lambda r: r["task_id"])


@pytest.mark.prefect
@pytest.mark.slow
def test_three_machines_to_the_jobs(
    prefect_harness, fleet, fleet_users, buckets, s3, tmp_path, monkeypatch
):
    from flows.jobs import access_review, telemetry_quality
    from tasks.evidence.signer import generate_key_files

    root, _ = fleet
    bucket = buckets.data_bucket
    god, cur, cs = fleet_users
    layouts = {
        god: ("vscode", "linux", True),
        cur: ("cursor", "macos", False),
        cs: ("code-server", "linux", False),
    }
    storages = {}
    for user, (editor, layout, god_mode) in layouts.items():
        home = tmp_path / f"machine-{editor}"
        storages[user] = machine(home, editor, layout, root / "raw/roo" / user, god_mode=god_mode)
        res = collect(home, user, S3Uri(bucket, "raw/"), s3, tmp_path / f"{user}.ledger", key=b"k")
        assert res.errors == 0 and res.uploaded > 0, res.notes
    roster = from_csv((root / "raw/org/roster.csv").read_text(), {}, "roster.csv")
    s3.put_object(Bucket=bucket, Key="raw/org/roster.csv", Body=roster.csv_bytes())
    everything = b"".join(bucket_objects(s3, bucket, "raw/").values())
    assert not [s for s in SECRETS if s.encode() in everything]

    priv, _, _ = generate_key_files(tmp_path / "keys")
    for k, v in {"AWS_ENDPOINT_URL": buckets.endpoint_url, "COMPLIANCE_DATA_BUCKET": bucket,
                 "COMPLIANCE_REPORTS_BUCKET": buckets.reports_bucket,
                 "COMPLIANCE_SIGNING_KEY": str(priv), "COMPLIANCE_RETENTION_DAYS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(
        yaml.safe_dump({"quality": {"max_quarantine_rate": 0.5}, "access": {"collect_iam": False}})
    )
    quality = telemetry_quality(since="2026-11-01", until="2026-11-03", config_path=str(cfg))
    assert quality["bundle"] and quality["counts"]["valid"] > 0
    review = access_review(config_path=str(cfg))
    assert review["bundle"]
    rb = buckets.reports_bucket
    key = review["bundle"].split(f"{rb}/", 1)[1].replace("attestation.dsse.json", "report.json")
    report = json.loads(s3.get_object(Bucket=rb, Key=key)["Body"].read())
    flagged = {f["resource"] for f in report["findings"]
               if f["check"] == "roo_god_mode_auto_approve" and f["status"] == "fail"}  # fmt: skip
    assert f"roo:{god}" in flagged and f"roo:{cur}" not in flagged
    creds = [f for f in report["findings"] if f["check"] == "roo_credentials_in_settings"]
    assert any(god in f["resource"] for f in creds)  # "a credential is stored here", redacted

    for user in (god, cs):
        remote = summarize(f"s3://{bucket}/raw/roo/{user}/", buckets.endpoint_url)
        local = summarize(str(storages[user]), buckets.endpoint_url)
        assert remote == local and len(remote) > 0
