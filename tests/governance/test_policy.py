"""The policy approval chain over real HTTP (moto, Object Lock): each rule, the chain of
applied versions, and forged records that must not count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from cli.evidence import keys, storage
from cli.policy import policy
from tasks.common.storage import S3Store
from tasks.evidence import LocalSigner, load_signer
from tasks.evidence.verify import Trust, verify_bundle
from tasks.policy.chain import (
    Ctx,
    PolicyRefused,
    apply,
    approve,
    load_history,
    propose,
    reject,
)
from tasks.policy.config import PolicyConfig

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
BASE = {"rules": {"allowedModes": ["code", "ask"], "commands": {"deny": ["rm -rf"]},
                  "autoApprove": {"allowedMaxRequests": 50}}}  # fmt: skip
CHANGE = {"rules": {**BASE["rules"], "allowedModes": ["code", "ask", "architect"]}}


@pytest.fixture
def signer(tmp_path):
    runner = CliRunner()
    res = runner.invoke(keys_root, ["keys", "generate", "--out", str(tmp_path / "k"), "--json"])
    return json.loads(res.stdout)


@click.group()
@click.option("--config", default=None)
def keys_root(config):
    """Test root standing in for `compliance`."""


for _g in (keys, storage, policy):
    keys_root.add_command(_g)


def _ctx(s3, buckets, key, **cfg):
    signer = load_signer(key["private_key"])
    trust = Trust.from_pems([("k", signer.public_pem)])
    config = PolicyConfig(**({"approvers": ["ann", "ben", "cat"]} | cfg))
    return Ctx(s3, buckets.reports_bucket, signer, trust, 1, config)


def test_the_proposer_can_never_approve_their_own_change(s3, buckets, signer):
    ctx = _ctx(s3, buckets, signer)
    pid, _ = propose(ctx, BASE, "ann", "first policy", T0)
    with pytest.raises(PolicyRefused, match="ann proposed .* cannot approve their own change"):
        approve(ctx, pid, "ann", T0)
    with pytest.raises(PolicyRefused, match="dan is not in policy.approvers"):
        approve(ctx, pid, "dan", T0)


def test_apply_is_refused_until_the_quorum_is_met(s3, buckets, signer, tmp_path):
    ctx = _ctx(s3, buckets, signer, required_approvals=2)
    pid, _ = propose(ctx, BASE, "ann", "first policy", T0)
    with pytest.raises(PolicyRefused, match=r"is pending \(0 of 2 approvals\): not applied"):
        apply(ctx, pid, T0)
    approve(ctx, pid, "ben", T0)
    with pytest.raises(PolicyRefused, match="ben already approved"):
        approve(ctx, pid, "ben", T0)
    with pytest.raises(PolicyRefused, match=r"\(1 of 2 approvals\)"):
        apply(ctx, pid, T0)
    approve(ctx, pid, "cat", T0)
    uri, version, doc = apply(ctx, pid, T0)
    assert version == 1 and doc == BASE and uri.endswith("attestation.dsse.json")
    with pytest.raises(PolicyRefused, match="is applied"):
        apply(ctx, pid, T0)


def test_an_approver_removed_from_the_list_no_longer_counts(s3, buckets, signer):
    ctx = _ctx(s3, buckets, signer)
    pid, _ = propose(ctx, BASE, "ann", "first", T0)
    approve(ctx, pid, "ben", T0)
    narrowed = _ctx(s3, buckets, signer, approvers=["ann", "cat"])
    with pytest.raises(PolicyRefused, match="pending"):
        apply(narrowed, pid, T0)


def test_a_rejection_closes_the_proposal(s3, buckets, signer):
    ctx = _ctx(s3, buckets, signer)
    pid, _ = propose(ctx, BASE, "ann", "first", T0)
    reject(ctx, pid, "cat", T0)
    with pytest.raises(PolicyRefused, match="is rejected"):
        approve(ctx, pid, "ben", T0)
    with pytest.raises(PolicyRefused, match="is rejected"):
        apply(ctx, pid, T0)


def test_proposals_expire(s3, buckets, signer):
    ctx = _ctx(s3, buckets, signer, proposal_expiry_days=7)
    pid, _ = propose(ctx, BASE, "ann", "first", T0)
    with pytest.raises(PolicyRefused, match="is expired"):
        approve(ctx, pid, "ben", T0 + timedelta(days=8))
    approve(ctx, pid, "ben", T0 + timedelta(days=6))
    with pytest.raises(PolicyRefused, match="is expired"):
        apply(ctx, pid, T0 + timedelta(days=8))


def test_versions_chain_and_verify_and_link_their_approvals(s3, buckets, signer):
    ctx = _ctx(s3, buckets, signer)
    p1, _ = propose(ctx, BASE, "ann", "first", T0)
    a1 = approve(ctx, p1, "ben", T0)
    v1_uri, v1, _ = apply(ctx, p1, T0)
    with pytest.raises(PolicyRefused, match="identical to the approved version 1"):
        propose(ctx, BASE, "ann", "again", T0)
    p2, p2_uri = propose(ctx, CHANGE, "cat", "architects need their mode", T0)
    p3, _ = propose(
        ctx, {"rules": {"autoApprove": {"allowedMaxRequests": 10}}}, "ben", "tighter", T0
    )
    approve(ctx, p2, "ann", T0)
    approve(ctx, p3, "ann", T0)
    v2_uri, v2, _ = apply(ctx, p2, T0)
    assert (v1, v2) == (1, 2)
    # p3 was based on version 1: its diff is stale now
    with pytest.raises(PolicyRefused, match="based on version 1 but version 2 is in effect"):
        apply(ctx, p3, T0)
    store, rb = S3Store(s3, buckets.reports_bucket), buckets.reports_bucket
    prefix2 = v2_uri.split("/", 3)[3].removesuffix("attestation.dsse.json")
    info, failures = verify_bundle(store, prefix2, ctx.trust, retention_days=1)
    assert failures == []
    pred = info.envelope.statement["predicate"]
    assert pred["job"] == "policy" and pred["previous"]["uri"] == v1_uri  # chained to v1
    linked = {i["uri"] for i in pred["inputs"]}
    assert p2_uri in linked and len(linked) == 2
    record = json.loads(s3.get_object(Bucket=rb, Key=prefix2 + "record.json")["Body"].read())
    assert record["previous_version"] == 1 and record["approvals"][0]["by"] == "ann"
    assert (
        json.loads(s3.get_object(Bucket=rb, Key=prefix2 + "policy.json")["Body"].read()) == CHANGE
    )
    # the proposal carried its diff against version 1
    pprefix = p2_uri.split("/", 3)[3].removesuffix("attestation.dsse.json")
    diff = s3.get_object(Bucket=rb, Key=pprefix + "diff.txt")["Body"].read().decode()
    assert '+      "architect"' in diff and "--- approved/v1" in diff
    assert a1 in {a["bundle"] for a in load_history(s3, rb, ctx.trust).versions[0]["approvals"]}
    # the auditor's whole-chain check passes for both trees
    from tasks.evidence import verify_job

    for job in ("policy", "policy-change"):
        report = verify_job(store, job, ctx.trust, retention_days=1)
        assert report.failures == [] and report.incomplete == [], job


def test_forged_approvals_and_versions_do_not_count(s3, buckets, signer):
    ctx = _ctx(s3, buckets, signer)
    rogue = _ctx(s3, buckets, signer)
    rogue.signer = LocalSigner(ec.generate_private_key(ec.SECP256R1()), "rogue")
    pid, _ = propose(ctx, BASE, "ann", "first", T0)
    rogue.trust = ctx.trust
    # the writer role, without the signing key, publishes an approval of its own
    approve(rogue, pid, "ben", T0)
    hist = load_history(s3, buckets.reports_bucket, ctx.trust)
    assert hist.proposals[pid].approvals == {} and any(
        "does not verify" in p for p in hist.problems
    )
    with pytest.raises(PolicyRefused, match="pending"):
        apply(ctx, pid, T0)


def test_the_cli_end_to_end(storage_settings, buckets, signer, tmp_path):
    runner = CliRunner()
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text("policy:\n  approvers: [ann, ben, cat]\n  required_approvals: 1\n")
    env = {
        "AWS_ENDPOINT_URL": storage_settings.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": storage_settings.reports_bucket,
        "COMPLIANCE_DATA_BUCKET": storage_settings.data_bucket,
        "COMPLIANCE_SIGNING_KEY": signer["private_key"],
        "COMPLIANCE_RETENTION_DAYS": "1",
        "COMPLIANCE_CONFIG": str(cfg),
    }
    f = tmp_path / "policy.yaml"
    f.write_text("rules:\n  allowedModes: [code, ask]\n  autoApprove: {allowedMaxRequests: 50}\n")

    def run(*args):
        return runner.invoke(keys_root, list(args), env=env)

    res = run("policy", "propose", str(f), "--by", "ann", "--reason", "baseline")
    assert res.exit_code != 0 and "raw/org/roster.csv: not found" in res.output
    roster = "user,email,team,manager,status,aws_user\n" + "".join(
        f"{u},{u}@example.org,gov,,{st},\n" for u, st in (("ann", "active"), ("ben", "active"),
                                                           ("cat", "terminated"))
    )  # fmt: skip
    from tasks.common.s3 import s3_client

    s3_client(storage_settings).put_object(
        Bucket=storage_settings.data_bucket, Key="raw/org/roster.csv", Body=roster.encode()
    )

    res = run("policy", "propose", str(f), "--by", "ann", "--reason", "baseline", "--json")
    assert res.exit_code == 0, res.output
    pid = json.loads(res.stdout)["proposal"]
    res = run("policy", "apply", pid, "--json")
    assert res.exit_code != 0 and "pending (0 of 1 approvals): not applied" in res.output
    res = run("policy", "approve", pid, "--by", "ann")
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1
    assert "cannot approve their own change" in res.output
    res = run("policy", "approve", pid, "--by", "cat")  # listed, but no longer employed
    assert res.exit_code != 0 and "cat is not an active user in the roster" in res.output
    assert run("policy", "approve", pid, "--by", "ben", "--json").exit_code == 0
    out = tmp_path / "dist" / "policy.json"
    out.parent.mkdir()
    res = run("policy", "apply", pid, "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["version"] == 1
    assert json.loads(out.read_text()) == {
        "rules": {"allowedModes": ["code", "ask"], "autoApprove": {"allowedMaxRequests": 50}}
    }
    res = run("policy", "status", "--json")
    got = json.loads(res.stdout)
    assert got["version"] == 1 and got["proposals"][0]["status"] == "applied"
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    res = run("policy", "propose", str(bad), "--by", "ann", "--reason", "x")
    assert res.exit_code != 0 and "bad.yaml: a policy must be a non-empty mapping" in res.output
