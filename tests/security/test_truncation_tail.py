"""Tail truncation (issue 13, item 5): the newest envelope is delete-marked or missing.

Its chain claim is still there (Object-Locked, and the writer role cannot delete), so
the loss fails verification with or without --schedule. What S3 kept decides: a delete
marker or a version of the envelope = truncation; the run's files with no envelope
version ever = a run in progress (younger than the lease) or a crashed one, listed as
incomplete, not a failure. moto keeps versions and delete markers like S3; the
delete-marker case needs no RGW (Object Lock allows a delete marker on both).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tasks.evidence import ChainPolicy
from tasks.evidence.bundles import download, iter_bundles, with_download_failures
from tasks.evidence.chain import claim_next
from tasks.evidence.store import LocalStore, S3Store, put_once
from tasks.evidence.verify_chain import verify_job
from tasks.evidence.verify_target import verify_target

from .chainkit import JOB, T0, client_for, make_signer, new_lock_bucket, publish_day, trust_of

SCHEDULE = "0 6 * * *"
NOW = T0 + timedelta(days=3, hours=3)  # 3 h after the 3rd daily run


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return make_signer(tmp_path_factory.mktemp("job-key"))


@pytest.fixture
def chain3(s3_server, signer):
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    return client, bucket, [publish_day(client, bucket, signer, i) for i in (1, 2, 3)]


def failures(client, bucket, signer, schedule=None):
    report = verify_job(
        S3Store(client, bucket), JOB, trust_of(signer), schedule=schedule, now=NOW, retention_days=1
    )
    return report, sorted((f.check, f.object.rsplit("/", 2)[-2]) for f in report.failures)


@pytest.mark.parametrize("schedule", [None, SCHEDULE])
def test_delete_marked_newest_envelope_fails(chain3, signer, schedule):
    """Today: `reports verify --job` passes without a schedule, the run shows as incomplete."""
    client, bucket, bundles = chain3
    newest = bundles[-1]
    client.delete_object(Bucket=bucket, Key=newest.prefix + "attestation.dsse.json")
    report, found = failures(client, bucket, signer, schedule)
    run = newest.run_id
    assert ("truncation", run) in found
    assert not report.ok
    assert newest.prefix not in report.incomplete


def test_claim_for_a_bundle_with_no_object_at_all_fails(chain3, signer):
    client, bucket, _ = chain3
    ghost = f"reports/{JOB}/2026/11/04/20261104T060000Z-0000beef/"
    put_once(client, bucket, f"reports/{JOB}/_chain/000000000003", _claim(3, ghost), 1, "x")
    _, found = failures(client, bucket, signer)
    assert found == [("truncation", "20261104T060000Z-0000beef")]


def test_run_in_progress_is_incomplete_not_a_failure(chain3, signer):
    client, bucket, _ = chain3
    live = f"reports/{JOB}/2026/11/04/20261104T060000Z-11ve11ve/"
    put_once(client, bucket, live + "report.json", b"{}", 1, "application/json")

    def put(key, body):
        put_once(client, bucket, key, body, 1, "application/json")

    claim = claim_next(client, bucket, JOB, "20261104T060000Z-11ve11ve", live, put, ChainPolicy())
    assert claim.claim.seq == 3
    report, found = failures(client, bucket, signer)
    assert found == [] and report.incomplete == [live]


def test_download_takes_the_delete_marked_envelope_and_reports_it(chain3, signer, tmp_path):
    """The committed envelope is still a version: the download takes it and says so."""
    client, bucket, bundles = chain3
    key = bundles[-1].prefix + "attestation.dsse.json"
    client.delete_object(Bucket=bucket, Key=key)
    dest = tmp_path / "dl"
    counts = download(client, bucket, list(iter_bundles(client, bucket)), dest)
    assert (dest / key).is_file()
    report = verify_target(str(dest), public_keys=[("k", signer.public_pem)])
    assert report.ok and len(report.chain) == 3  # the tree holds the committed chain
    report = with_download_failures(report, counts)
    assert [(f.check, f.object.endswith("attestation.dsse.json'")) for f in report.failures] == [
        ("versions", True)
    ]


def test_offline_tree_missing_the_newest_bundle_fails_without_schedule(chain3, signer, tmp_path):
    client, bucket, bundles = chain3
    dest = tmp_path / "dl"
    download(client, bucket, list(iter_bundles(client, bucket)), dest)
    for p in sorted((dest / bundles[-1].prefix).iterdir()):
        p.unlink()
    (dest / bundles[-1].prefix).rmdir()
    report = verify_job(LocalStore(dest), JOB, trust_of(signer))
    assert [f.check for f in report.failures] == ["truncation"]


def _claim(seq, prefix):
    import json

    return json.dumps(
        {"seq": seq, "job": JOB, "run_id": "x", "prefix": prefix, "previous": None, "claim_id": "x"}
    ).encode()


def test_downloaded_crashed_run_is_incomplete_offline(chain3, signer, tmp_path):
    """The download brings a claimed run's files, so offline a crash is told from a loss."""
    client, bucket, _ = chain3
    crashed = f"reports/{JOB}/2026/11/04/20261104T060000Z-c4a5bed0/"
    put_once(client, bucket, crashed + "report.json", b"{}", 1, "application/json")
    put_once(client, bucket, f"reports/{JOB}/_chain/000000000003", _claim(3, crashed), 1, "x")
    dest = tmp_path / "dl"
    counts = download(client, bucket, list(iter_bundles(client, bucket)), dest)
    assert counts["failures"] == []
    report = verify_job(LocalStore(dest), JOB, trust_of(signer))
    assert report.failures == [] and report.incomplete == [crashed]
