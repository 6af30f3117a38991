"""`compliance audit search` over real, signed bundles in the Object-Lock bucket (moto)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from cli.audit import audit
from tasks.audit.config import AuditConfig
from tasks.audit.day import build_day, read_day
from tasks.audit.job import result_of
from tasks.common.jobrun import finish_job
from tasks.common.s3 import s3_client
from tests.audit.conftest import table, tel, ui
from tests.audit.test_job import put_parquet

PLANTED = "terraform apply -target=module.db"


@pytest.fixture
def published(s3, buckets, tmp_path, monkeypatch):
    """Two days of ledgers, each published as a signed bundle; env points the CLI at them."""
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files

    priv, pub, fp = generate_key_files(tmp_path / "keys")
    monkeypatch.setenv("COMPLIANCE_TRUSTED_KEYS", fp)  # the auditor's pin (and the job's)
    settings = buckets.model_copy(update={"signing_key": str(priv)})
    ensure_buckets(s3_client(settings), settings, public_key_pem=pub.read_bytes())
    days = {
        date(2026, 11, 20): [
            ui(
                1,
                10,
                user="ann",
                task_id="t1",
                kind="tool",
                tool="newFileCreated",
                path="infra/db.tf",
                mutates=True,
            ),
            ui(2, 20, user="ann", task_id="t1", kind="command", command=PLANTED, mutates=True),
            tel(3, 30, user="bob", task_id="t2", kind="Checkpoint Restored", mutates=True),
        ],
        date(2026, 11, 21): [
            ui(
                1,
                86400 + 5,
                user="bob",
                task_id="t3",
                kind="tool",
                tool="appliedDiff",
                path="src/app.py",
                mutates=True,
            ),
        ],
    }
    bundles = {}
    for day, rows in days.items():
        put_parquet(s3, settings.data_bucket, f"validated/events/date={day}/r.parquet", table(rows))
        r = build_day(
            read_day(s3, settings.data_bucket, settings.reports_bucket, day, AuditConfig())
        )
        bundles[day] = finish_job("audit-trail", r.period, result_of(r), settings)["bundle"]  # fmt: skip
    for var, value in {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": settings.reports_bucket,
        "COMPLIANCE_DATA_BUCKET": settings.data_bucket,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("COMPLIANCE_CONFIG", raising=False)
    return bundles


def run(*args: str):
    return CliRunner().invoke(
        audit, ["search", "--since", "2026-11-20", "--until", "2026-11-22", *args]
    )


def test_planted_action_found_by_user_path_and_command_with_its_bundle(published):
    day = date(2026, 11, 20)
    for args in (
        ["--user", "ann", "--command", "apply"],
        ["--path", "infra/*.tf"],
        ["--command", r"^terraform\s+apply\b"],
    ):
        res = run(*args, "--json")
        assert res.exit_code == 0, res.output
        out = json.loads(res.output)
        assert len(out["matches"]) == 1, args
        m = out["matches"][0]
        assert m["bundle"] == published[day]
        assert m["user"] == "ann" and m["task_id"] == "t1"
    assert (
        json.loads(run("--command", "terraform", "--json").output)["matches"][0]["command"]
        == PLANTED
    )
    out = json.loads(run("--user", "bob", "--json").output)
    assert [(m["kind"], m["bundle"]) for m in out["matches"]] == [
        ("rollback", published[day]),
        ("file_write", published[date(2026, 11, 21)]),
    ]
    assert out["rejected"] == [] and out["missing_days"] == []
    text = run("--user", "ann")
    assert text.exit_code == 0 and PLANTED in text.output and published[day] in text.output


def test_a_tampered_bundle_is_rejected_and_never_read(published, s3, buckets):
    env_uri = published[date(2026, 11, 20)]
    key = env_uri.split("/", 3)[3].rsplit("/", 1)[0] + "/extra.txt"
    s3.put_object(Bucket=buckets.reports_bucket, Key=key, Body=b"planted")
    res = run("--user", "ann", "--json")
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["matches"] == [] and out["missing_days"] == ["2026-11-20"]
    assert "extra_object" in out["rejected"][0]["problem"]
    assert f"rejected {env_uri}" in res.stderr


def test_bad_arguments_are_one_line_errors(monkeypatch):
    monkeypatch.setenv("COMPLIANCE_REPORTS_BUCKET", "reports-unused")
    monkeypatch.delenv("COMPLIANCE_CONFIG", raising=False)
    res = run("--command", "(")  # rejected before any bucket is read
    assert res.exit_code == 2 and "--command: not a valid regex" in res.output
    res = CliRunner().invoke(audit, ["search", "--since", "yesterday"])
    assert res.exit_code == 2 and "--since: expected a date" in res.output
    res = CliRunner().invoke(audit, ["search", "--since", "2026-11-02", "--until", "2026-11-01"])
    assert res.exit_code == 2 and "is not after --since" in res.output
