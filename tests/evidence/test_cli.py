"""The CLI groups (keys, storage, evidence, reports) end to end against moto server."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.evidence import evidence, keys, reports, storage


@click.group()
@click.option("--config", default=None)
def root(config):
    """Test root standing in for `compliance`."""


for _group in (keys, storage, evidence, reports):
    root.add_command(_group)


@pytest.fixture
def env(storage_settings, tmp_path):
    runner = CliRunner()
    res = runner.invoke(root, ["keys", "generate", "--out", str(tmp_path / "k"), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    variables = {
        "AWS_ENDPOINT_URL": storage_settings.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": storage_settings.reports_bucket,
        "COMPLIANCE_DATA_BUCKET": storage_settings.data_bucket,
        "COMPLIANCE_SIGNING_KEY": out["private_key"],
        "COMPLIANCE_RETENTION_DAYS": "1",
        "COMPLIANCE_CONFIG": str(tmp_path / "none.yaml"),
    }
    (tmp_path / "none.yaml").write_text("{}\n")
    return runner, variables, out


def run(runner, variables, *args):
    return runner.invoke(root, list(args), env=variables, catch_exceptions=False)


def test_keys_generate_prints_fingerprint_and_refuses_overwrite(tmp_path):
    runner = CliRunner()
    res = runner.invoke(root, ["keys", "generate", "--out", str(tmp_path)])
    assert res.exit_code == 0 and "fingerprint" in res.output
    assert (tmp_path / "signing-key.pem").exists() and (tmp_path / "signing-key.pub.pem").exists()
    again = runner.invoke(root, ["keys", "generate", "--out", str(tmp_path)])
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    assert len(again.output.strip().splitlines()) == 1


def test_full_cli_flow(env, tmp_path, s3, storage_settings):
    runner, variables, key = env
    res = run(runner, variables, "storage", "init", "--json")
    assert res.exit_code == 0, res.output
    init = json.loads(res.stdout)
    assert init["public_key"].endswith(f"keys/{key['fingerprint']}.pem")
    cfg = s3.get_object_lock_configuration(Bucket=storage_settings.reports_bucket)
    assert cfg["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert run(runner, variables, "storage", "init").exit_code == 0  # idempotent

    report = tmp_path / "report.json"
    report.write_text('{"ok": true}\n')
    html = tmp_path / "report.html"
    html.write_text("<p>ok</p>\n")
    uris = []
    for _ in range(2):
        res = run(
            runner,
            variables,
            "evidence",
            "publish",
            "--job",
            "cost-budget",
            "--file",
            str(report),
            "--file",
            str(html),
            "--period-start",
            "2026-11-20T00:00:00Z",
            "--period-end",
            "2026-11-21T00:00:00Z",
            "--count",
            "findings=3",
            "--json",
        )
        assert res.exit_code == 0, res.output
        uris.append(json.loads(res.stdout)["bundle"])

    pin = ("--trusted-key", key["fingerprint"])  # what an auditor received out of band
    listed = json.loads(run(runner, variables, "reports", "list", "--json", *pin).stdout)
    assert [r["counts"] for r in listed["bundles"]] == [{"findings": 3}] * 2
    table = run(runner, variables, "reports", "list", "--job", "cost-budget", *pin).stdout
    assert (
        table.splitlines()[0].split()[:4] == ["job", "run", "period", "status"]
        and "findings=3" in table
    )

    ok = run(
        runner,
        variables,
        "reports",
        "verify",
        "--job",
        "cost-budget",
        "--public-key",
        key["public_key"],
    )
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: 2 bundles"), ok.output
    single = run(runner, variables, "reports", "verify", uris[1], "--json", *pin)
    assert single.exit_code == 0 and json.loads(single.stdout)["ok"] is True

    dest = tmp_path / "dl"
    res = run(
        runner,
        variables,
        "reports",
        "download",
        "--job",
        "cost-budget",
        "--to",
        str(dest),
        "--json",
        *pin,
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((dest / "verification-summary.json").read_text())
    assert summary["bundles"] == 2 and summary["verification"]["ok"] is True
    assert run(runner, variables, "reports", "verify", str(dest), *pin).exit_code == 0

    # Tamper with the download: one line per failure, exit 1
    (victim,) = [p for p in dest.rglob("report.json") if uris[0].split("/")[-2] in str(p)]
    victim.write_text('{"ok": false}\n')
    bad = run(runner, variables, "reports", "verify", str(dest), "--public-key", key["public_key"])
    assert bad.exit_code == 1
    lines = bad.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{victim}: subject_digest: "), bad.stdout

    shared = json.loads(
        run(runner, variables, "reports", "share", uris[0], "--expires", "1h", "--json").stdout
    )
    # the first bundle of the chain: its objects, the signer's key, its claim (no previous)
    roles = sorted(o["role"] for o in shared["objects"])
    assert shared["expires_in"] == 3600 and roles == ["bundle"] * 3 + ["claim", "key"]
    for obj in shared["objects"]:
        with urllib.request.urlopen(obj["url"], timeout=10) as resp:
            assert resp.status == 200
    # the second: also the previous envelope, whose digest its statement names
    second = json.loads(
        run(runner, variables, "reports", "share", uris[1], "--expires", "1h", "--json").stdout
    )
    fetched = {}
    for obj in second["objects"]:
        with urllib.request.urlopen(obj["url"], timeout=10) as resp:
            fetched[(obj["role"], obj["key"])] = resp.read()
    (prev_key,) = [k for r, k in fetched if r == "previous"]
    assert f"s3://{prev_key}".endswith(uris[0].split("://", 1)[1].split("/", 1)[1])
    env = json.loads(fetched[("bundle", uris[1].split("/", 3)[3])])
    statement = json.loads(base64.b64decode(env["payload"]))
    prev_digest = statement["predicate"]["previous"]["digest"]["sha256"]
    assert hashlib.sha256(fetched[("previous", prev_key)]).hexdigest() == prev_digest
    (key_pem,) = [v for (r, _), v in fetched.items() if r == "key"]
    assert key_pem == Path(key["public_key"]).read_bytes()
    assert any(r == "claim" for r, _ in fetched)
    too_long = run(runner, variables, "reports", "share", uris[0], "--expires", "8d")
    assert too_long.exit_code == 2 and "between 1s and 7d" in too_long.output


def test_storage_init_refuses_reports_bucket_without_lock(env, s3, storage_settings):
    runner, variables, _ = env
    s3.create_bucket(Bucket=storage_settings.reports_bucket)  # no Object Lock
    res = run(runner, variables, "storage", "init")
    assert res.exit_code == 2
    assert (
        res.stderr.strip().splitlines()[-1]
        == f"error: s3://{storage_settings.reports_bucket}: Object Lock is not enabled; refusing to write reports"
    )


def test_verify_needs_exactly_one_target(env):
    runner, variables, _ = env
    res = run(runner, variables, "reports", "verify")
    assert res.exit_code == 2 and "exactly one of TARGET or --job" in res.output


def test_publish_bad_count_is_one_line(env, tmp_path):
    runner, variables, _ = env
    f = tmp_path / "r.json"
    f.write_text("{}")
    res = run(
        runner, variables, "evidence", "publish", "--job", "x", "--file", str(f), "--count", "oops"
    )
    assert (
        res.exit_code == 2
        and res.stderr.strip().splitlines()[-1] == "error: --count 'oops': expected NAME=N"
    )


def test_every_command_has_help():
    for group in (keys, storage, evidence, reports):
        assert group.help
        for name, cmd in group.commands.items():
            assert cmd.help, f"{group.name} {name} lacks help"
            res = CliRunner().invoke(root, [group.name, name, "--help"])
            assert res.exit_code == 0 and "Usage" in res.output


def test_unreachable_storage_is_one_line(env):
    from tasks.common.embedded import free_port

    runner, variables, _ = env
    res = run(
        runner,
        {**variables, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"},
        "reports",
        "list",
        "--trusted-key",
        "ab" * 32,
    )
    assert res.exit_code == 2
    assert (
        res.stderr.strip().splitlines()[-1] == "error: storage unreachable: EndpointConnectionError"
    )


def test_password_protected_key_via_config(storage_settings, buckets, tmp_path):
    runner = CliRunner()
    pw = {"EVIDENCE_KEY_PW": "s3cret-pass-phrase-9"}
    res = runner.invoke(
        root,
        [
            "keys",
            "generate",
            "--out",
            str(tmp_path / "k"),
            "--password-env",
            "EVIDENCE_KEY_PW",
            "--json",
        ],
        env=pw,
    )
    assert res.exit_code == 0, res.output
    key = json.loads(res.stdout)
    assert b"ENCRYPTED" in Path(key["private_key"]).read_bytes()
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(
        "storage:\n"
        f"  signing_key: {key['private_key']}\n"
        "  signing_key_password_env: EVIDENCE_KEY_PW\n"
        "  retention_days: 1\n"
    )
    variables = {
        "COMPLIANCE_CONFIG": str(cfg),
        "AWS_ENDPOINT_URL": storage_settings.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": storage_settings.reports_bucket,
        "COMPLIANCE_DATA_BUCKET": storage_settings.data_bucket,
    }
    f = tmp_path / "report.json"
    f.write_text("{}")
    ok = run(
        runner,
        {**variables, **pw},
        "evidence",
        "publish",
        "--job",
        "access-review",
        "--file",
        str(f),
    )
    assert ok.exit_code == 0 and ok.stdout.startswith("s3://"), ok.output
    bad = run(
        runner,
        {**variables, "EVIDENCE_KEY_PW": "not-the-password"},
        "evidence",
        "publish",
        "--job",
        "access-review",
        "--file",
        str(f),
    )
    assert bad.exit_code == 2
    assert (
        "wrong password" in bad.stderr
        and "not-the-password" not in bad.output
        and "s3cret" not in bad.output
    )


def test_index_shared_with_presigned_links_an_auditor_can_browse(env, tmp_path):
    """`reports index --share`: the same index whose every link is a presigned GET; each
    fetched file equals the one downloaded and verified."""
    import re
    from html import unescape

    runner, variables, key = env
    assert run(runner, variables, "storage", "init").exit_code == 0
    (tmp_path / "report.json").write_text('{"status": "pass", "findings": []}\n')
    (tmp_path / "notes.csv").write_text("x\n")
    for _ in range(2):
        files = ("--file", str(tmp_path / "report.json"), "--file", str(tmp_path / "notes.csv"))
        pub = run(runner, variables, "evidence", "publish", "--job", "manual", *files)
        assert pub.exit_code == 0, pub.output
    dest = tmp_path / "idx"
    pin = ("--trusted-key", key["fingerprint"])
    res = run(
        runner, variables, "reports", "index", "--to", str(dest), "--share", "1h", "--json", *pin
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["bundles"] == 2 and out["failed_verification"] == 0
    links = [
        unescape(u)
        for u in re.findall(r'href="(http[^"]+)"', Path(out["shared_index"]).read_text())
    ]
    # report.json, the csv and the envelope of each bundle (listed by job and by period)
    assert len(set(links)) == 2 * 3
    for url in set(links):
        key_path = urllib.parse.unquote(urllib.parse.urlparse(url).path).split("/", 2)[2]
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.read() == (dest / key_path).read_bytes()
    no_folder = run(runner, variables, "reports", "index", "--to", str(dest), "--from-folder",
                    "--share", "1h", *pin)  # fmt: skip
    assert no_folder.exit_code == 2
