"""Trust anchors come from outside the bucket (issue 13, item 2; spec section Trust).

The attacker holds the writer role but not the signing key: it can put its own public key
under keys/ and publish bundles signed with it. Every reader — reports verify / download /
list, verify_target, audit search, access-review's previous bundle — must trust only keys
it was given (pinned PEM or fingerprint, or a job's own key), and refuse with one line when
it was given none.
"""

# ruff: noqa: F401, F811 - pytest fixtures imported from trust_helpers
from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from tasks.common.errors import ComplianceError
from tasks.evidence import publish_bundle
from tasks.evidence.store import S3Store
from tasks.evidence.verify_target import verify_target
from tests.evidence.conftest import T0, day_period
from tests.evidence.helpers import daily_files, download_all, flip_byte, publish_day

from .trust_helpers import cli, cli_env, legit, resign, rogue, upload_key

JOB = "access-review"


def _publish(client, bucket, signer, i, trust=None):
    return publish_day(client, bucket, JOB, signer, i, trust)


@pytest.fixture
def forged(s3, buckets, legit, rogue):
    """Two legitimate bundles, then a writer-role forgery: its own key in keys/ and a third
    bundle signed with it, chained on correctly (the writer can claim like anyone)."""
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    good = [_publish(s3, bucket, legit[0], i) for i in (1, 2)]
    upload_key(s3, bucket, rogue[0])
    bad = _publish(s3, bucket, rogue[0], 3)
    return good, bad


def test_reader_without_an_anchor_refuses_with_one_line(forged, s3, buckets, tmp_path):
    target = f"s3://{buckets.reports_bucket}/reports/{JOB}/"
    with pytest.raises(ComplianceError, match="no trusted key: pin"):
        verify_target(target, client=s3)
    env = cli_env(buckets, tmp_path)
    for args in (
        ("reports", "verify", "--job", JOB),
        ("reports", "download", "--job", JOB, "--to", str(tmp_path / "dl")),
        ("reports", "list"),
    ):
        res = cli(env, *args)
        assert res.exit_code == 2, (args, res.output)
        assert res.output.count("\n") == 1 and "--trusted-key" in res.output
    assert not (tmp_path / "dl").exists()  # refused before anything was fetched


def test_writer_key_in_keys_folder_is_not_trusted(forged, s3, buckets, legit, tmp_path):
    _, bad = forged
    env = cli_env(buckets, tmp_path)
    res = cli(env, "reports", "verify", "--job", JOB, "--trusted-key", legit[2])
    assert res.exit_code == 1
    [line] = res.output.splitlines()
    assert line.startswith(f"{bad.envelope_uri}: unknown_key: signed by untrusted key")
    # pinning by PEM file instead of fingerprint gives the same answer
    res = cli(env, "reports", "verify", "--job", JOB, "--public-key", str(legit[1]), "--json")
    failures = json.loads(res.stdout)["failures"]
    assert res.exit_code == 1 and [f["check"] for f in failures] == ["unknown_key"]


def test_pinned_fingerprint_takes_its_pem_from_keys(s3, buckets, legit, tmp_path):
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    _publish(s3, bucket, legit[0], 1)
    res = cli(
        cli_env(buckets, tmp_path), "reports", "verify", "--job", JOB, "--trusted-key", legit[2]
    )
    assert res.exit_code == 0 and res.output.startswith("ok: 1 bundles"), res.output


def test_keys_file_named_for_the_pinned_key_but_holding_another(
    s3, buckets, legit, rogue, tmp_path
):
    """The writer plants keys/<legit fp>.pem holding its own key: a `key` failure, no trust."""
    bucket = buckets.reports_bucket
    s3.put_object(Bucket=bucket, Key=f"keys/{legit[2]}.pem", Body=rogue[0].public_pem)
    _publish(s3, bucket, rogue[0], 1)
    res = cli(cli_env(buckets, tmp_path), "reports", "verify", "--job", JOB, "--trusted-key", legit[2], "--json")  # fmt: skip
    failures = json.loads(res.stdout)["failures"]
    assert res.exit_code == 1 and {f["check"] for f in failures} == {"key", "unknown_key"}
    assert "not the pinned" in failures[0]["message"]


def test_anchors_from_environment_and_config_file(forged, s3, buckets, legit, tmp_path):
    bad_uri = forged[1].envelope_uri
    env = cli_env(buckets, tmp_path, COMPLIANCE_TRUSTED_KEYS=f" sha256:{legit[2].upper()} ")
    res = cli(env, "reports", "verify", "--job", JOB, "--json")
    assert [f["object"] for f in json.loads(res.stdout)["failures"]] == [bad_uri]
    # evidence.trusted_keys in compliance.yaml: a PEM path relative to the file
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    shutil.copy(legit[1], cfg_dir / "auditor.pem")
    (cfg_dir / "compliance.yaml").write_text("evidence:\n  trusted_keys: [auditor.pem]\n")
    env = cli_env(buckets, tmp_path, COMPLIANCE_CONFIG=str(cfg_dir / "compliance.yaml"))
    res = cli(env, "reports", "verify", "--job", JOB, "--json")
    assert [f["object"] for f in json.loads(res.stdout)["failures"]] == [bad_uri]
    bad = cli_env(buckets, tmp_path, COMPLIANCE_TRUSTED_KEYS="nonexistent.pem")
    res = cli(bad, "reports", "verify", "--job", JOB)
    assert res.exit_code == 2 and "nonexistent.pem: cannot read public key" in res.output


def test_download_verifies_against_pins_only(forged, s3, buckets, legit, tmp_path):
    dest = tmp_path / "dl"
    env = cli_env(buckets, tmp_path)
    res = cli(env, "reports", "download", "--job", JOB, "--to", str(dest), "--trusted-key", legit[2], "--json")  # fmt: skip
    assert res.exit_code == 1
    summary = json.loads((dest / "verification-summary.json").read_text())
    assert summary["verification"]["ok"] is False
    assert [f["check"] for f in summary["verification"]["failures"]] == ["unknown_key"]


def test_list_status_shows_only_trusted_statements(forged, s3, buckets, legit, tmp_path):
    res = cli(cli_env(buckets, tmp_path), "reports", "list", "--json", "--trusted-key", legit[2])
    rows = json.loads(res.stdout)["bundles"]
    assert res.exit_code == 0
    assert [r["status"] for r in rows] == ["pass", "pass", "untrusted (unknown_key)"]
    assert [r["verified_signature"] for r in rows] == [True, True, False]


def test_downloaded_tree_edited_and_resigned_with_a_key_in_the_tree(
    s3, buckets, legit, rogue, tmp_path
):
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    good = [_publish(s3, bucket, legit[0], i) for i in (1, 2)]
    tree = download_all(s3, bucket, tmp_path / "tree")
    victim = tree / good[1].prefix
    flip_byte(victim / "report.json")
    digest = __import__("hashlib").sha256((victim / "report.json").read_bytes()).hexdigest()

    def edit(stmt):
        for s in stmt["subject"]:
            if s["name"] == "report.json":
                s["digest"]["sha256"] = digest

    resign(victim / "attestation.dsse.json", rogue[0], edit)
    (tree / "keys" / f"{rogue[2]}.pem").write_bytes(rogue[0].public_pem)
    report = verify_target(str(tree), trusted_keys=[legit[2]])
    assert [(f.object, f.check) for f in report.failures] == [
        (f"{tree}/{good[1].prefix}attestation.dsse.json", "unknown_key")
    ]
    res = cli(cli_env(buckets, tmp_path), "reports", "verify", str(tree), "--trusted-key", legit[2])
    assert res.exit_code == 1 and "unknown_key" in res.output
    # the single-bundle folder form, moved out of its tree, is no different
    moved = tmp_path / "moved" / victim.name
    shutil.copytree(victim, moved)
    (moved.parent / "keys").mkdir()
    assert {f.check for f in verify_target(str(moved), trusted_keys=[legit[2]]).failures} == {
        "unknown_key"
    }


def test_access_review_previous_bundle_trusts_only_the_job_key(s3, buckets, legit, rogue):
    """access-review's previous review: signed by the writer's key (in keys/) is never read."""
    from tasks.access.previous import PreviousBundleError, load_previous, trusted_keys

    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    _publish(s3, bucket, legit[0], 1)
    upload_key(s3, bucket, rogue[0])
    _publish(s3, bucket, rogue[0], 2)
    job_settings = buckets.model_copy(update={"signing_key": legit[0].source})
    with pytest.raises(PreviousBundleError, match="unknown_key"):
        load_previous(s3, bucket, JOB, trusted_keys(job_settings, []))
    no_key = buckets.model_copy(update={"signing_key": None})
    with pytest.raises(PreviousBundleError, match="no trusted key"):
        load_previous(s3, bucket, JOB, trusted_keys(no_key, []))
    # and the job's own key is enough for its own last bundle
    good = buckets.model_copy(update={"signing_key": rogue[0].source})
    assert load_previous(s3, bucket, JOB, trusted_keys(good, [])).files["report.json"]


def test_store_view_of_keys_is_never_an_anchor(forged, s3, buckets):
    """No code path builds trust from a bucket listing any more."""
    import tasks.evidence.verify as verify_module

    assert not hasattr(verify_module, "trust_from_store")
    assert S3Store(s3, buckets.reports_bucket).keys("keys/")  # the candidates are there


def test_evidence_section_is_checked(tmp_path):
    from tasks.common.settings import load_config

    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("evidence:\n  trusted_key: [abc]\n")  # a typo must not silently pin nothing
    with pytest.raises(ComplianceError, match="evidence: only 'trusted_keys'"):
        load_config(cfg, env={})
    cfg.write_text(f"evidence:\n  trusted_keys: ['{'ab' * 32}', keys/auditor.pem]\n")
    assert load_config(cfg, env={}).storage.trusted_keys == ["ab" * 32, str(tmp_path / "keys/auditor.pem")]  # fmt: skip
    env = {"COMPLIANCE_TRUSTED_KEYS": "a.pem, ,b.pem"}  # the environment wins
    assert load_config(cfg, env=env).storage.trusted_keys == ["a.pem", "b.pem"]
