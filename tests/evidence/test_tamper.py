"""Tamper suite: every mutation is caught by a named check; untouched chains raise nothing.

A 4-bundle daily chain is published once to moto (real HTTP), downloaded, and each local
test mutates its own copy. Online-only mutations (new versions, delete markers, objects
added in the bucket) run against a fresh bucket each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from tasks.common.storage import LocalStore, S3Store
from tasks.evidence.signer import generate_key_files, load_signer
from tasks.evidence.verify_chain import verify_job
from tasks.evidence.verify_target import verify_target

from .conftest import T0
from .helpers import (
    SCHEDULE,
    client_for,
    download_all,
    flip_byte,
    forge_bundle,
    new_lock_bucket,
    publish_chain,
)

JOB = "access-review"
NOW = T0 + timedelta(days=4, hours=3)  # 3 h after the 4th daily run (grace: 2 h)


@pytest.fixture(scope="module")
def published(s3_server, signer, keypair, tmp_path_factory):
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    bundles = publish_chain(client, bucket, JOB, 4, signer, keypair[1].read_bytes())
    root = download_all(client, bucket, tmp_path_factory.mktemp("pristine"))
    return root, [b.prefix for b in bundles]


@pytest.fixture
def tree(published, tmp_path):
    root, prefixes = published
    copy = tmp_path / "tree"
    shutil.copytree(root, copy)
    return copy, prefixes


def checks(root: Path, trust, schedule: str | None = SCHEDULE) -> set[str]:
    report = verify_job(LocalStore(root), JOB, trust, schedule=schedule, now=NOW)
    return {f.check for f in report.failures}


def test_untouched_chain_has_no_failures(tree, trust):
    root, prefixes = tree
    report = verify_job(LocalStore(root), JOB, trust, schedule=SCHEDULE, now=NOW)
    assert report.failures == []
    assert report.chain == prefixes and report.incomplete == []


def test_untouched_tree_with_pinned_fingerprint_has_no_failures(tree, keypair):
    """The tree's keys/ supplies the PEM, but only because its fingerprint is pinned."""
    root, _ = tree
    report = verify_target(str(root), trusted_keys=[keypair[2]], schedule=SCHEDULE, now=NOW)
    assert report.failures == []


@pytest.mark.parametrize("name", ["report.json", "report.html", "findings.csv"])
def test_byte_flip_in_report_file(tree, trust, name):
    root, prefixes = tree
    flip_byte(root / prefixes[1] / name)
    assert checks(root, trust) == {"subject_digest"}


def test_byte_flip_in_envelope_payload(tree, trust):
    root, prefixes = tree
    path = root / prefixes[1] / "attestation.dsse.json"
    text = path.read_text()
    i = text.index('"payload": "') + 40
    swapped = "B" if text[i] != "B" else "C"
    path.write_text(text[:i] + swapped + text[i + 1 :])
    found = checks(root, trust)
    assert found & {"signature", "envelope", "statement"}  # a bad sig, or bytes no longer JSON
    assert "chain_link" in found  # the next bundle's previous digest no longer matches


def test_byte_flip_breaks_envelope_json(tree, trust):
    root, prefixes = tree
    flip_byte(root / prefixes[2] / "attestation.dsse.json", offset=0)
    assert "envelope" in checks(root, trust)


def test_byte_flip_in_chain_claim(tree, trust):
    root, _ = tree
    claim = root / "reports" / JOB / "_chain" / "000000000001"
    data = json.loads(claim.read_text())
    data["previous"]["digest"]["sha256"] = "0" * 64
    claim.write_text(json.dumps(data))
    assert checks(root, trust) == {"claim"}


def test_byte_flip_in_published_key(tree, keypair):
    root, _ = tree
    (key,) = (root / "keys").iterdir()
    text = key.read_text().splitlines()
    text[1] = text[1][:10] + ("A" if text[1][10] != "A" else "B") + text[1][11:]
    key.write_text("\n".join(text) + "\n")
    found = {f.check for f in verify_target(str(root), trusted_keys=[keypair[2]], now=NOW).failures}
    assert "key" in found and "unknown_key" in found


def test_extra_object_in_bundle(tree, trust):
    root, prefixes = tree
    (root / prefixes[0] / "extra.txt").write_text("planted")
    assert checks(root, trust) == {"extra_object"}


def test_subject_deleted(tree, trust):
    root, prefixes = tree
    (root / prefixes[2] / "report.html").unlink()
    assert checks(root, trust) == {"subject_missing"}


def test_middle_bundle_deleted(tree, trust):
    root, prefixes = tree
    shutil.rmtree(root / prefixes[1])
    found = checks(root, trust)
    assert "chain_link" in found and "orphan" in found


def test_newest_bundle_deleted_is_caught_with_or_without_a_schedule(tree, trust):
    """Tail truncation: its chain claim is still there, so the loss shows without a
    schedule too (it used to pass then); the schedule adds staleness."""
    root, prefixes = tree
    shutil.rmtree(root / prefixes[-1])
    assert checks(root, trust, schedule=None) == {"truncation"}
    assert checks(root, trust) == {"stale", "truncation"}


def test_period_gap_is_caught_with_a_schedule(tree, trust, signer):
    root, prefixes = tree
    env = root / prefixes[-1] / "attestation.dsse.json"
    # Re-sign the newest bundle with a later period start (a skipped day)
    from tasks.evidence.dsse import (
        PAYLOAD_TYPE,
        make_envelope,
        pae,
        parse_envelope,
        statement_bytes,
    )

    stmt = json.loads(parse_envelope(env.read_bytes()).payload)
    stmt["predicate"]["period"]["start"] = "2026-11-04T12:00:00Z"
    payload = statement_bytes(stmt)
    env.write_bytes(make_envelope(payload, signer.keyid, signer.sign(pae(PAYLOAD_TYPE, payload))))
    assert "period_gap" in checks(root, trust)


def test_bundle_signed_by_another_key(tree, trust, tmp_path):
    root, prefixes = tree
    priv, _, _ = generate_key_files(tmp_path / "rogue")
    rogue = load_signer(str(priv))
    env = root / prefixes[-1] / "attestation.dsse.json"
    from tasks.evidence.dsse import PAYLOAD_TYPE, make_envelope, pae, parse_envelope

    payload = parse_envelope(env.read_bytes()).payload
    sig = rogue.sign(pae(PAYLOAD_TYPE, payload))
    env.write_bytes(make_envelope(payload, rogue.keyid, sig))
    assert "unknown_key" in checks(root, trust)
    # The same rogue signature presented under the trusted key id
    env.write_bytes(make_envelope(payload, next(iter(trust.keys)), sig))
    assert "signature" in checks(root, trust)


def test_old_envelope_replayed_under_new_prefix(tree, trust):
    root, prefixes = tree
    src = root / prefixes[1]
    dst = src.parent / "20261103T060000Z-deadbeef"
    shutil.copytree(src, dst)
    assert "replay" in checks(root, trust)


def test_fork(tree, trust, signer):
    root, prefixes = tree
    forge_bundle(root, prefixes[2], "20261103T070000Z-f0f0f0f0", signer, previous_from=prefixes[2])
    found = checks(root, trust)
    assert "fork" in found and "claim" in found


# ---- online mutations -------------------------------------------------------------------


@pytest.fixture
def online(s3_server, signer):
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    bundles = publish_chain(client, bucket, JOB, 2, signer)
    return client, bucket, [b.prefix for b in bundles]


def online_checks(client, bucket, trust) -> set[str]:
    report = verify_job(S3Store(client, bucket), JOB, trust, retention_days=1)
    return {f.check for f in report.failures}


def test_online_untouched_has_no_failures(online, trust):
    client, bucket, _ = online
    assert online_checks(client, bucket, trust) == set()


@pytest.mark.parametrize("body", [None, b'{"status": "pass"}\n'])
def test_new_version_over_report_object(online, trust, body):
    """The bundle is read at its first versions: a later one changes nothing read and is
    reported (identical bytes are still a rewrite)."""
    client, bucket, prefixes = online
    key = prefixes[0] + "report.json"
    same = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    client.put_object(Bucket=bucket, Key=key, Body=body or same)
    assert online_checks(client, bucket, trust) == {"versions"}


def test_delete_marker_on_subject(online, trust):
    client, bucket, prefixes = online
    client.delete_object(Bucket=bucket, Key=prefixes[1] + "report.html")
    assert online_checks(client, bucket, trust) == {"versions"}


def test_object_added_in_bucket(online, trust):
    client, bucket, prefixes = online
    client.put_object(Bucket=bucket, Key=prefixes[0] + "notes.txt", Body=b"x")
    assert online_checks(client, bucket, trust) == {"extra_object"}


# ---- the spec's openssl recipe ----------------------------------------------------------


def _readme_recipe() -> str:
    """The README's by-hand recipe, as an auditor would paste it (public.pem -> the pinned key)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = readme[readme.index("**Verify by hand**") :]
    block = after[after.index("```sh\n") + 6 : after.index("```", after.index("```sh\n") + 6)]
    return "set -euo pipefail\n" + block.replace("public.pem", '"$PUBLIC_PEM"')


RECIPE = _readme_recipe()


def run_recipe(bundle: Path, public_pem: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", RECIPE],
        cwd=bundle,
        env={"PATH": "/usr/bin:/bin", "PUBLIC_PEM": str(public_pem)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_openssl_recipe_accepts_a_real_bundle_and_rejects_a_flip(tree, keypair):
    root, prefixes = tree
    before = sorted(p.name for p in (root / prefixes[-1]).iterdir())
    ok = run_recipe(root / prefixes[-1], keypair[1])
    assert ok.returncode == 0, ok.stderr
    assert "Verified OK" in ok.stdout and "report.json: OK" in ok.stdout
    # the recipe works in a scratch folder: the bundle folder is unchanged and still verifies
    assert sorted(p.name for p in (root / prefixes[-1]).iterdir()) == before
    keys = [("pub", keypair[1].read_bytes())]
    assert verify_target(str(root / prefixes[-1]), public_keys=keys).failures == []
    flip_byte(root / prefixes[-1] / "report.json")
    bad = run_recipe(root / prefixes[-1], keypair[1])
    assert bad.returncode != 0 and "report.json: FAILED" in bad.stdout


def test_bundle_folder_outside_its_tree(tree, keypair, tmp_path):
    root, prefixes = tree
    run_id = prefixes[1].rstrip("/").rsplit("/", 1)[1]
    moved = tmp_path / "elsewhere" / run_id
    shutil.copytree(root / prefixes[1], moved)
    keys = [("pub", keypair[1].read_bytes())]
    assert verify_target(str(moved), public_keys=keys).failures == []
    # presented as another run: a replay
    renamed = moved.rename(moved.parent / "20991231T000000Z-00000000")
    assert {f.check for f in verify_target(str(renamed), public_keys=keys).failures} == {"replay"}
    # a copy under a name that is no run id ("for-the-auditor") is just a folder: it verifies
    copied = renamed.rename(renamed.parent / "for-the-auditor")
    assert verify_target(str(copied), public_keys=keys).failures == []


def test_a_symlink_in_a_moved_bundle_folder_is_not_followed(tree, keypair, tmp_path):
    """A bundle folder handed over from elsewhere (a zip) is hostile: a file that is a
    symlink out of it — to the real bytes, or to /dev/zero — is never read."""
    root, prefixes = tree
    run_id = prefixes[1].rstrip("/").rsplit("/", 1)[1]
    moved = tmp_path / "elsewhere" / run_id
    shutil.copytree(root / prefixes[1], moved)
    keys = [("pub", keypair[1].read_bytes())]
    outside = tmp_path / "outside-report.json"
    shutil.move(moved / "report.json", outside)  # the right bytes, but outside the folder
    (moved / "report.json").symlink_to(outside)
    failures = verify_target(str(moved), public_keys=keys).failures
    assert any("report.json" in f.object + f.message for f in failures), failures
    (moved / "report.json").unlink()
    (moved / "report.json").symlink_to("/dev/zero")  # never read: it would not end
    assert verify_target(str(moved), public_keys=keys).failures
