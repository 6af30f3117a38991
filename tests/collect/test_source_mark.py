"""log-retention and the collector's `x-amz-meta-compliance-redacted` mark, on moto.

The mark is the writer's claim: a forged one (a secret under the mark) must be redacted
like any raw log and reported; an honest one (real `collect --redact` output) is confirmed
by content, with no change to what is deleted or kept.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tasks.collect.mark import SOURCE_MARK
from tasks.collect.run import collect
from tasks.common.s3 import S3Uri, s3_client
from tasks.common.settings import AppConfig
from tasks.common.storage import get_bytes
from tasks.retention.runner import run_retention
from tests.collect.helpers import bucket_objects, machine

LATER = datetime.now(UTC) + timedelta(days=40)
SECRET = "ghp_" + "Forg" * 9
KEY = "test-redaction-key-0123456789abcdef"


def test_the_mark_is_checked_by_content_never_trusted(
    buckets, s3, tmp_path, fleet, fleet_users
) -> None:
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    data = f"markdata-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=data, ObjectLockEnabledForBucket=True)
    priv, pub, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(priv), "data_bucket": data})
    ensure_buckets(s3_client(settings), settings, public_key_pem=pub.read_bytes())

    user = fleet_users[0]
    home = tmp_path / "home"
    machine(home, "vscode", "linux", Path(fleet[0]) / "raw/roo" / user)
    res = collect(
        home, user, S3Uri(data, "raw/"), s3, tmp_path / "l.json", key=KEY.encode(), redact=True
    )
    assert res.errors == 0 and res.uploaded > 0, res.notes
    honest = sorted(f"raw/roo/{k}" for k in bucket_objects(s3, data, "raw/roo/") if "/tasks/" in k)
    marked = s3.head_object(Bucket=data, Key=honest[0])["Metadata"]
    assert marked == {SOURCE_MARK: "engine"}

    ui = orjson.dumps([{"ts": 1, "type": "say", "say": "text", "text": f"use {SECRET} now"}])
    forged = "raw/roo/eve/tasks/t-forged/ui_messages.json"
    plain = "raw/roo/eve/tasks/t-plain/ui_messages.json"
    s3.put_object(Bucket=data, Key=forged, Body=ui, Metadata={SOURCE_MARK: "engine"})
    s3.put_object(Bucket=data, Key=plain, Body=ui)

    sections = {"retention": {"raw_days": 30, "redacted_days": 365}, "redaction": {"key": KEY}}
    config = AppConfig(storage=settings, sections=sections, source="test.yaml")
    result = run_retention(config, s3, now=LATER)

    bundle = result["bundle"][5:].partition("/")[2].rsplit("/", 1)[0] + "/"
    plan = {
        r["key"]: r
        for r in map(
            json.loads,
            get_bytes(s3, settings.reports_bucket, bundle + "plan.jsonl").splitlines(),
        )
    }
    assert plan[forged]["source_redacted"] == "not_confirmed"
    assert plan[plain]["source_redacted"] is None
    for key in honest:
        assert plan[key]["source_redacted"] == "confirmed", key
    # the mark changed nothing about what was done: every expired raw log went, copies clean
    assert all(plan[k]["decision"] == "delete" for k in [forged, plain, *honest])
    assert not bucket_objects(s3, data, "raw/roo/eve/")
    copy = get_bytes(s3, data, forged.replace("raw/", "redacted/", 1))
    assert SECRET.encode() not in copy and b"[REDACTED:" in copy
    assert result["summary"]["source_redacted"] == {
        "confirmed": len(honest),
        "not_confirmed": 1,
    }
    report = json.loads(get_bytes(s3, settings.reports_bucket, bundle + "report.json"))
    flagged = [f["resource"] for f in report["findings"]
               if f["check"] == "retention.source_mark_unconfirmed"]  # fmt: skip
    assert flagged == [forged]
