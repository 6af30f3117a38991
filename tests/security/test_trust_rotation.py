"""Key rotation (issue 13, item 2): a statement signed by the old key introduces the new one.

A reader that pins only the old fingerprint keeps verifying a job's chain across the
rotation; a rotation signed by a key the reader does not trust adds nothing.
"""

# ruff: noqa: F401, F811 - pytest fixtures imported from trust_helpers
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tasks.evidence import publish_bundle
from tasks.evidence.dsse import ROTATION_PREDICATE_TYPE
from tasks.evidence.store import LocalStore, S3Store
from tasks.evidence.trust import Anchors, publish_rotation, resolve_trust
from tasks.evidence.verify import Trust
from tasks.evidence.verify_chain import verify_job
from tasks.evidence.verify_target import verify_target
from tests.evidence.conftest import T0, day_period
from tests.evidence.helpers import daily_files, download_all, publish_day

from .trust_helpers import cli, cli_env, legit, make_key, rogue, upload_key

JOB = "cost-budget"


def _publish(client, bucket, signer, i, trust=None):
    return publish_day(client, bucket, JOB, signer, i, trust)


def _rotate(client, bucket, old, new_pem, i, trust=None):
    return publish_rotation(
        client, bucket, old, new_pem, retention_days=1,
        generated_at=T0 + timedelta(days=i, hours=1), trust=trust,
    )  # fmt: skip


def pinned(fp: str) -> Anchors:
    return Anchors(fingerprints=(fp,))


def test_pinned_old_key_carries_trust_across_a_rotation(s3, buckets, legit, tmp_path):
    bucket = buckets.reports_bucket
    old = legit[0]
    new, _, new_fp = make_key(tmp_path / "next")
    newer, _, newer_fp = make_key(tmp_path / "newer")
    upload_key(s3, bucket, old)  # only the old key's PEM is in keys/
    _publish(s3, bucket, old, 1)
    rot = _rotate(s3, bucket, old, new.public_pem, 1)
    assert rot.statement["predicateType"] == ROTATION_PREDICATE_TYPE
    assert rot.statement["predicate"]["key_rotation"] == {"old_key": old.keyid, "new_key": new_fp}
    # the job keeps the old key pinned (evidence.trusted_keys): its chain links across
    job_trust = resolve_trust(S3Store(s3, bucket), pinned(old.keyid))[0]
    _publish(s3, bucket, new, 2, job_trust)
    _rotate(s3, bucket, new, newer.public_pem, 2, job_trust)  # old -> new -> newer
    _publish(s3, bucket, newer, 3, resolve_trust(S3Store(s3, bucket), pinned(old.keyid))[0])

    store = S3Store(s3, bucket)
    trust, failures = resolve_trust(store, pinned(old.keyid))
    assert failures == [] and set(trust.keys) == {old.keyid, new_fp, newer_fp}
    report = verify_job(store, JOB, trust, retention_days=1)
    assert report.failures == [] and len(report.chain) == 3
    assert verify_job(store, "keys", trust, retention_days=1).failures == []

    # the CLI, online and on a downloaded tree, with only the old fingerprint pinned
    env = cli_env(buckets, tmp_path)
    res = cli(env, "reports", "verify", "--job", JOB, "--trusted-key", old.keyid)
    assert res.exit_code == 0 and res.output.startswith("ok: 3 bundles"), res.output
    dest = tmp_path / "dl"
    res = cli(env, "reports", "download", "--job", JOB, "--to", str(dest), "--trusted-key", old.keyid)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (dest / "reports" / "keys").is_dir()  # the rotations came along
    assert verify_target(str(dest), trusted_keys=[old.keyid]).failures == []
    # without following the rotations the newer bundles would not be trusted
    only_old = Trust.from_pems([("old", old.public_pem)])
    assert {f.check for f in verify_job(store, JOB, only_old).failures} == {"unknown_key"}


def test_rotation_signed_by_an_untrusted_key_adds_nothing(s3, buckets, legit, rogue, tmp_path):
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    _publish(s3, bucket, legit[0], 1)
    # the writer "rotates" from its own key to another of its keys, and signs with both
    other, _, other_fp = make_key(tmp_path / "other")
    _rotate(s3, bucket, rogue[0], other.public_pem, 1)
    _publish(s3, bucket, other, 2)
    trust, _ = resolve_trust(S3Store(s3, bucket), pinned(legit[2]))
    assert set(trust.keys) == {legit[2]}
    report = verify_job(S3Store(s3, bucket), JOB, trust, retention_days=1)
    assert [f.check for f in report.failures] == ["unknown_key"]
    res = cli(cli_env(buckets, tmp_path), "reports", "verify", "--job", "keys", "--trusted-key", legit[2])  # fmt: skip
    assert res.exit_code == 1 and "unknown_key" in res.output


def test_rotation_whose_key_file_does_not_match_its_fingerprint_adds_nothing(
    s3, buckets, legit, tmp_path
):
    """Signed by the trusted key, but new-key.pem holds a different key than it names."""
    from tasks.evidence.trust import ROTATION_KEY_FILE

    bucket = buckets.reports_bucket
    named, _, named_fp = make_key(tmp_path / "named")
    shipped, _, _ = make_key(tmp_path / "shipped")
    publish_bundle(
        s3,
        bucket,
        "keys",
        {ROTATION_KEY_FILE: shipped.public_pem},
        signer=legit[0],
        period=day_period(1),
        status="pass",
        counts={},
        retention_days=1,
        predicate_type=ROTATION_PREDICATE_TYPE,
        extra_predicate={"key_rotation": {"old_key": legit[0].keyid, "new_key": named_fp}},
    )
    trust, _ = resolve_trust(S3Store(s3, bucket), Anchors(pems=(("old", legit[0].public_pem),)))
    assert set(trust.keys) == {legit[2]}


def test_a_downloaded_tree_cannot_add_a_rotation(s3, buckets, legit, rogue, tmp_path):
    """A rotation bundle planted in a downloaded tree, signed by the writer's key: nothing."""
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    _publish(s3, bucket, legit[0], 1)
    tree = download_all(s3, bucket, tmp_path / "tree")
    elsewhere = buckets.reports_bucket + "-x"  # the writer's own bucket, same layout
    s3.create_bucket(Bucket=elsewhere, ObjectLockEnabledForBucket=True)
    _rotate(s3, elsewhere, rogue[0], make_key(tmp_path / "elsewhere")[0].public_pem, 1)
    download_all(s3, elsewhere, tree)  # merged into the auditor's tree
    trust, _ = resolve_trust(LocalStore(tree), pinned(legit[2]))
    assert set(trust.keys) == {legit[2]}


def test_keys_rotate_cli(s3, buckets, legit, tmp_path):
    bucket = buckets.reports_bucket
    new, new_pub, new_fp = make_key(tmp_path / "next")
    env = cli_env(buckets, tmp_path, COMPLIANCE_SIGNING_KEY=legit[0].source)
    res = cli(env, "keys", "rotate", "--new-public-key", str(new_pub), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["old_key"] == legit[2] and out["new_key"] == new_fp
    assert out["bundle"].startswith(f"s3://{bucket}/reports/keys/")
    same = cli(env, "keys", "rotate", "--new-public-key", str(legit[1]))
    assert same.exit_code == 2 and "is the current signing key" in same.output
    trust, _ = resolve_trust(S3Store(s3, bucket), Anchors(pems=(("old", legit[0].public_pem),)))
    assert new_fp in trust.keys


@pytest.mark.parametrize("bad", ["not-hex", "ab" * 31, "zz" * 32])
def test_trusted_key_must_be_a_fingerprint(buckets, tmp_path, bad):
    res = cli(cli_env(buckets, tmp_path), "reports", "verify", "--job", JOB, "--trusted-key", bad)
    assert res.exit_code == 2 and "not a SHA-256 key fingerprint" in res.output
    assert res.output.count("\n") == 1


def test_keys_slug_is_reserved_for_rotations(s3, buckets, legit):
    from tasks.common.errors import InputError

    with pytest.raises(InputError, match="reserved for key-rotation"):
        publish_bundle(s3, buckets.reports_bucket, "keys", {"report.json": b"{}"}, signer=legit[0], period=day_period(1), status="pass", counts={}, retention_days=1)  # fmt: skip
    with pytest.raises(InputError, match="reserved for key-rotation"):
        publish_bundle(s3, buckets.reports_bucket, JOB, {"new-key.pem": legit[0].public_pem}, signer=legit[0], period=day_period(1), status="pass", counts={}, retention_days=1, predicate_type=ROTATION_PREDICATE_TYPE)  # fmt: skip


def test_a_job_keeps_its_chain_across_a_rotation_from_the_cli(s3, buckets, tmp_path):
    """The operator's sequence: publish, `keys rotate`, switch the signing key, publish
    again with the old fingerprint pinned (evidence.trusted_keys / COMPLIANCE_TRUSTED_KEYS):
    one chain, no fork; without the pin the new key's writer cannot link and the chain
    forks, which the verifier reports."""
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old, old_pub, old_fp = make_key(old_dir)
    new, new_pub, new_fp = make_key(new_dir)
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, old)
    (tmp_path / "r.json").write_text('{"ok": true}\n')
    publish = ("evidence", "publish", "--job", "manual", "--file", str(tmp_path / "r.json"))
    as_old = cli_env(buckets, tmp_path, COMPLIANCE_SIGNING_KEY=str(old_dir / "signing-key.pem"))
    assert cli(as_old, *publish).exit_code == 0
    res = cli(as_old, "keys", "rotate", "--new-public-key", str(new_pub))
    assert res.exit_code == 0, res.output
    as_new = as_old | {
        "COMPLIANCE_SIGNING_KEY": str(new_dir / "signing-key.pem"),
        "COMPLIANCE_TRUSTED_KEYS": old_fp,
    }
    assert cli(as_new, *publish).exit_code == 0
    res = cli(as_new, "reports", "verify", "--job", "manual", "--trusted-key", old_fp)
    assert res.exit_code == 0 and res.output.startswith("ok: 2 bundles"), res.output

    # another job whose first bundle after the rotation is written without the pin
    other = ("evidence", "publish", "--job", "manual-2", "--file", str(tmp_path / "r.json"))
    assert cli(as_old, *other).exit_code == 0
    assert cli(as_new | {"COMPLIANCE_TRUSTED_KEYS": ""}, *other).exit_code == 0
    res = cli(as_new, "reports", "verify", "--job", "manual-2", "--trusted-key", old_fp)
    assert res.exit_code != 0 and "fork" in res.output, res.output


def test_untrusted_rotations_cost_no_full_verification(s3, buckets, legit, rogue, tmp_path, monkeypatch):  # fmt: skip
    """Rotation bundles anyone with the writer role can plant, each signed by its own key,
    were each verified in full (every subject read, a versions listing, lock headers) by
    every reader resolving trust, and again at every round of the fixpoint. Now their
    envelope's signatures[0] is checked against the keys trusted so far first: a planted
    rotation costs one bounded envelope read and adds nothing."""
    from tasks.evidence import trust as trust_module

    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    _publish(s3, bucket, legit[0], 1)
    for i in range(3):
        _rotate(s3, bucket, rogue[0], make_key(tmp_path / f"planted{i}")[0].public_pem, 1 + i)
    full = []
    verify = trust_module.verify_bundle
    monkeypatch.setattr(trust_module, "verify_bundle", lambda *a, **k: full.append(a[1]) or verify(*a, **k))  # fmt: skip
    calls: list[tuple[str, str]] = []

    def record(params, model, **_kw):
        calls.append((model.name, params.get("Key") or params.get("Prefix") or ""))

    s3.meta.events.register("before-parameter-build.s3", record)
    trust, failures = resolve_trust(S3Store(s3, bucket), pinned(legit[2]))
    assert set(trust.keys) == {legit[2]} and failures == []
    assert full == []  # no planted rotation was verified in full
    under_keys = [(op, key) for op, key in calls if key.startswith("reports/keys/")]
    assert {op for op, _ in under_keys} <= {"ListObjectsV2", "GetObject"}
    assert not [key for _op, key in under_keys if key.endswith("new-key.pem")]
    assert len([op for op, _ in under_keys if op == "GetObject"]) == 3  # one envelope each
