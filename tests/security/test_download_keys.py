"""`reports download` treats the bucket as hostile (issue 13, item 3, bucket side).

The attacker holds the writer role: it can put any object under reports/ or keys/, and a
later version over a locked object (Object Lock keeps the first one; PutObject without
IfNoneMatch makes a new version on moto as on AWS). moto shows all of this over HTTP.
What moto cannot show: moto's ListObjectVersions answers 500 for a key holding a control
character other than TAB (its XML), so TAB stands for the control characters here; NUL is
refused by the same safepath check (tests/test_safe_primitives.py). The version pinning
is repeated on Ceph RGW in tests/evidence/test_rgw.py.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tasks.evidence.bundles import download, iter_bundles, with_download_failures, write_summary
from tasks.evidence.verify_target import verify_target

from .chainkit import JOB, client_for, make_signer, new_lock_bucket, plant, publish_day


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return make_signer(tmp_path_factory.mktemp("job-key"))


@pytest.fixture
def published(s3_server, signer):
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    bundles = [publish_day(client, bucket, signer, i) for i in (1, 2)]
    return client, bucket, bundles


def fetch(client, bucket, dest, signer):
    """What `reports download` does: download, verify offline, fold in download failures."""
    dest.mkdir(parents=True, exist_ok=True)
    counts = download(client, bucket, list(iter_bundles(client, bucket)), dest)
    report = verify_target(str(dest), public_keys=[("k", signer.public_pem)])
    report = with_download_failures(report, counts)
    return report, counts


BAD_KEYS = {
    "dotdot": "../../../../../../../escaped.txt",
    "dotdot_deep": "x/../../../../../../../../escaped.txt",
    "control": "tab\tname.txt",
    "not_nfc": "cafe\u0301.txt",
    "long_segment": "x" * 300 + ".txt",
    "empty_segment": "a//b.txt",
}


@pytest.mark.parametrize("name", sorted(BAD_KEYS))
def test_bad_key_under_a_bundle_is_refused_and_fails_verification(
    published, signer, tmp_path, name
):
    client, bucket, bundles = published
    key = bundles[0].prefix + BAD_KEYS[name]
    plant(client, bucket, key, b"planted")
    dest = tmp_path / "out" / "dl"
    report, _ = fetch(client, bucket, dest, signer)
    assert (
        not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "escaped.txt").exists()
    )
    assert not any(p.name.endswith("escaped.txt") for p in tmp_path.rglob("*"))
    refused = [f for f in report.failures if f.check == "unsafe_key"]
    assert len(refused) == 1 and "\n" not in refused[0].line()
    assert repr(BAD_KEYS[name][:20])[1:-1] in refused[0].object or name == "long_segment"
    assert not report.ok


def test_bad_key_under_keys_is_refused(published, signer, tmp_path):
    client, bucket, _ = published
    plant(client, bucket, "keys/../../escaped.pem", b"-----BEGIN PUBLIC KEY-----\n")
    report, _ = fetch(client, bucket, tmp_path / "dl", signer)
    assert not (tmp_path / "escaped.pem").exists()
    assert [f.check for f in report.failures] == ["unsafe_key"]


def test_never_writes_through_a_symlink_in_the_output_folder(published, signer, tmp_path):
    client, bucket, bundles = published
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dl"
    (dest / "reports").mkdir(parents=True)
    (dest / "reports" / JOB).symlink_to(outside, target_is_directory=True)
    report, _ = fetch(client, bucket, dest, signer)
    assert list(outside.iterdir()) == []
    assert {f.check for f in report.failures} >= {"unsafe_key"} and not report.ok


def test_symlinked_file_in_the_output_folder_is_not_followed(published, signer, tmp_path):
    client, bucket, bundles = published
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    dest = tmp_path / "dl"
    target = dest / bundles[0].prefix / "report.json"
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    report, _ = fetch(client, bucket, dest, signer)
    assert victim.read_text() == "precious\n"
    assert any(f.check == "unsafe_key" and "report.json" in f.object for f in report.failures)


def test_a_later_version_over_a_locked_report_is_not_what_is_downloaded(
    published, signer, tmp_path
):
    """Today the download fetches the tampered latest version of report.json."""
    client, bucket, bundles = published
    key = bundles[0].prefix + "report.json"
    original = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    plant(client, bucket, key, b'{"status": "pass", "tampered": true}\n')
    dest = tmp_path / "dl"
    report, _ = fetch(client, bucket, dest, signer)
    assert (dest / key).read_bytes() == original
    assert [(f.check, f.object.endswith("report.json'")) for f in report.failures] == [
        ("versions", True)
    ]


def test_summary_of_the_cli_counts_refused_keys(published, signer, tmp_path, s3_server):
    from cli.evidence import reports

    client, bucket, bundles = published
    plant(client, bucket, bundles[1].prefix + "../../../../../../../../escaped.txt", b"x")
    pem = tmp_path / "job.pub.pem"
    pem.write_bytes(signer.public_pem)
    (tmp_path / "none.yaml").write_text("{}\n")
    env = {
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": bucket,
        "COMPLIANCE_DATA_BUCKET": "unused",
        "COMPLIANCE_CONFIG": str(tmp_path / "none.yaml"),
    }
    dest = tmp_path / "a" / "b" / "dl"
    res = CliRunner().invoke(
        reports, ["download", "--to", str(dest), "--public-key", str(pem)], env=env
    )
    assert res.exit_code == 1, res.output
    assert not any(p.name == "escaped.txt" for p in tmp_path.rglob("*"))
    summary = json.loads((dest / "verification-summary.json").read_text())
    assert summary["verification"]["ok"] is False
    assert [f["check"] for f in summary["verification"]["failures"]] == ["unsafe_key"]


def test_summary_is_not_written_through_a_symlink(tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text("{}")
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "verification-summary.json").symlink_to(victim)
    with pytest.raises(Exception, match="summary"):
        write_summary(tmp_path / "dl", {"ok": True})
    assert victim.read_text() == "{}"


def test_download_since_brings_only_what_it_names(published, signer, tmp_path):
    """Claims naming committed bundles left out by --since do not pull them in."""
    from datetime import date

    client, bucket, bundles = published
    dest = tmp_path / "dl"
    refs = list(iter_bundles(client, bucket, since=date(2026, 11, 3)))
    assert [r.prefix for r in refs] == [bundles[1].prefix]
    counts = download(client, bucket, refs, dest)
    assert counts["failures"] == [] and not (dest / bundles[0].prefix).exists()
    assert (dest / bundles[1].prefix / "attestation.dsse.json").is_file()
