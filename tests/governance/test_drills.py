"""Runbook drills: published as signed bundles over real HTTP (moto, Object Lock), verified
when read back; a runbook not drilled in 90 days is a finding; forged drills do not count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner

from cli.evidence import keys, storage
from cli.runbook import runbook
from tasks.common.errors import InputError
from tasks.evidence import LocalSigner, load_signer
from tasks.runbooks.catalog import load_runbooks
from tasks.runbooks.drills import load_drills, publish_drill, undrilled

BOOKS = load_runbooks()
NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
SECRET = "sk-ant-api03-HAZt9xslXTTIQrh6bpy0VAq3GZuO2R8UziJdi0Y4mj4TIJZ9RnvIh4TOetAfG82EOMjRZA0G6vbBxKd5WVwd9ExLXa3zpAA"  # random-looking: a run of one letter is a placeholder


@click.group()
@click.option("--config", default=None)
def root(config):
    """Test root standing in for `compliance`."""


for _group in (keys, storage, runbook):
    root.add_command(_group)


@pytest.fixture
def env(storage_settings, buckets, tmp_path):
    runner = CliRunner()
    res = runner.invoke(root, ["keys", "generate", "--out", str(tmp_path / "k"), "--json"])
    assert res.exit_code == 0, res.output
    key = json.loads(res.stdout)
    (tmp_path / "none.yaml").write_text("{}\n")
    variables = {
        "AWS_ENDPOINT_URL": storage_settings.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": storage_settings.reports_bucket,
        "COMPLIANCE_DATA_BUCKET": storage_settings.data_bucket,
        "COMPLIANCE_SIGNING_KEY": key["private_key"],
        "COMPLIANCE_RETENTION_DAYS": "1",
        "COMPLIANCE_CONFIG": str(tmp_path / "none.yaml"),
    }
    assert runner.invoke(root, ["storage", "init"], env=variables).exit_code == 0
    return runner, variables, key


def _signer(key):
    return load_signer(key["private_key"])


def _pub(key):
    return [("k", open(key["public_key"], "rb").read())]


def test_drill_from_the_cli_is_a_verified_signed_bundle_with_notes_redacted(env, s3, buckets):
    runner, variables, key = env
    res = runner.invoke(
        root,
        ["runbook", "drill", "provider-degradation", "--by", "alice.kim", "--result", "pass",
         "--notes", f"switched to bedrock; old key {SECRET} rotated", "--json"],
        env=variables,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["runbook"] == "provider-degradation" and out["result"] == "pass"
    prefix = out["bundle"].split("/", 3)[3].rsplit("/", 1)[0]
    assert prefix.startswith("reports/runbook-drill/")
    rb = buckets.reports_bucket
    drill = json.loads(s3.get_object(Bucket=rb, Key=f"{prefix}/drill.json")["Body"].read())
    assert drill["by"] == "alice.kim" and drill["steps"] == BOOKS["provider-degradation"].steps
    assert SECRET not in drill["notes"] and "[REDACTED:" in drill["notes"]
    assert len(drill["runbook_sha256"]) == 64
    report = json.loads(s3.get_object(Bucket=rb, Key=f"{prefix}/report.json")["Body"].read())
    assert report["job"] == "runbook-drill" and report["status"] == "pass"
    drills, problems = load_drills(s3, rb, _pub(key))
    assert problems == [] and [d["runbook"] for d in drills] == ["provider-degradation"]
    # the other runbooks are still undrilled; this one is not
    open_ = {f.resource for f in undrilled(BOOKS, drills, datetime.now(UTC))}
    assert "runbook/provider-degradation" not in open_ and len(open_) == len(BOOKS) - 1


def test_cli_refuses_unknown_runbook_and_odd_user_in_one_line(env):
    runner, variables, _ = env
    res = runner.invoke(root, ["runbook", "drill", "nope", "--by", "a", "--result", "pass"],
                        env=variables)  # fmt: skip
    assert res.exit_code != 0 and "nope: no such runbook" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(root, ["runbook", "drill", "provider-degradation", "--by", "../x y",
                               "--result", "pass"], env=variables)  # fmt: skip
    assert res.exit_code != 0 and "not a user name" in res.output


def test_runbook_check_lists_the_undrilled(env):
    runner, variables, _ = env
    res = runner.invoke(root, ["runbook", "check", "--json"], env=variables)
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert {f["resource"] for f in got["findings"]} == {f"runbook/{b}" for b in BOOKS}
    assert got["findings"][0]["check"] == "runbook.not_drilled"


def test_ninety_days_and_failed_drills(env, s3, buckets):
    _, _, key = env
    rb, book = buckets.reports_bucket, BOOKS["auth-failure-spike"]
    publish_drill(s3, rb, _signer(key), book, "bob", "pass", None, 1, now=NOW - timedelta(days=100))
    drills, _ = load_drills(s3, rb, _pub(key))
    (f,) = [f for f in undrilled(BOOKS, drills, NOW) if f.resource == "runbook/auth-failure-spike"]
    assert "over 90 days ago" in f.message and f.details["last_result"] == "pass"
    publish_drill(s3, rb, _signer(key), book, "bob", "fail", "pager never rang", 1,
                  now=NOW - timedelta(days=2))  # fmt: skip
    drills, _ = load_drills(s3, rb, _pub(key))
    (f,) = [f for f in undrilled(BOOKS, drills, NOW) if f.resource == "runbook/auth-failure-spike"]
    assert f.details["last_result"] == "fail" and f.details["last_bundle"].startswith("s3://")
    publish_drill(s3, rb, _signer(key), book, "carol", "pass", None, 1, now=NOW - timedelta(days=1))
    drills, _ = load_drills(s3, rb, _pub(key))
    assert not [
        f for f in undrilled(BOOKS, drills, NOW) if f.resource == "runbook/auth-failure-spike"
    ]


def test_a_drill_signed_by_another_key_does_not_count(env, s3, buckets):
    _, _, key = env
    from cryptography.hazmat.primitives.asymmetric import ec

    rogue = LocalSigner(ec.generate_private_key(ec.SECP256R1()), "rogue")
    rb = buckets.reports_bucket
    publish_drill(s3, rb, rogue, BOOKS["spend-acceleration"], "mallory", "pass", None, 1, now=NOW)
    drills, problems = load_drills(s3, rb, _pub(key))
    assert drills == [] and len(problems) == 1 and "does not verify" in problems[0]
    assert "runbook/spend-acceleration" in {f.resource for f in undrilled(BOOKS, drills, NOW)}


def test_bad_result_and_long_notes_are_refused(env, s3, buckets):
    _, _, key = env
    with pytest.raises(InputError, match="--result 'maybe'"):
        publish_drill(s3, buckets.reports_bucket, _signer(key), BOOKS["spend-acceleration"],
                      "bob", "maybe", None, 1)  # fmt: skip
    with pytest.raises(InputError, match="--notes: longer than"):
        publish_drill(s3, buckets.reports_bucket, _signer(key), BOOKS["spend-acceleration"],
                      "bob", "pass", "x" * 5000, 1)  # fmt: skip
