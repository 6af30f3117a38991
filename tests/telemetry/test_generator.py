"""The synthetic fleet generator: determinism, clean fleets, S3 output, CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from tasks.telemetry.generator import generate_fleet

SMALL = {"users": 4, "days": 2}


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def clean_fleet(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    return root, generate_fleet(str(root), users=9, days=4, seed=7, clean=True)


def test_same_seed_gives_identical_bytes(tmp_path):
    generate_fleet(str(tmp_path / "a"), seed=3, **SMALL)
    generate_fleet(str(tmp_path / "b"), seed=3, **SMALL)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(a) > 20 and a == b


def test_different_seed_differs(tmp_path):
    generate_fleet(str(tmp_path / "a"), seed=3, **SMALL)
    generate_fleet(str(tmp_path / "b"), seed=4, **SMALL)
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert a != b
    assert a["raw/org/roster.csv"] != b["raw/org/roster.csv"]


def test_clean_fleet_plants_nothing(clean_fleet):
    root, truth = clean_fleet
    assert truth["incidents"] == [] and truth["secrets"] == [] and truth["malformed"] == []
    assert truth["decoys"], "decoys stay in clean fleets: they must never be flagged"
    org = json.loads((root / "raw/org/organization-settings.json").read_text())
    assert (
        org["allowList"]["allowAll"] is False
        and org["cloudSettings"]["allowPublicTaskSharing"] is False
    )
    with_data = {u["user"] for u in truth["users"] if u["has_data"]}
    assert all(u["status"] == "active" for u in truth["users"] if u["has_data"])
    for name in with_data:
        s = json.loads((root / f"raw/roo/{name}/settings/roo-code-settings.json").read_text())
        g = s["globalSettings"]
        assert "*" not in g["allowedCommands"] and g["deniedCommands"]
        assert (
            not g["alwaysAllowWriteOutsideWorkspace"]
            and g["allowedMaxRequests"]
            and g["allowedMaxCost"]
        )
        for cfg in s["providerProfiles"]["apiConfigs"].values():
            assert not {
                "apiKey",
                "awsAccessKey",
                "awsSecretKey",
                "openRouterApiKey",
                "openAiNativeApiKey",
            } & set(cfg)
    for path in root.glob("raw/roo/*/tasks/*/ui_messages.json"):
        failed = [
            m["text"][:3] for m in json.loads(path.read_bytes()) if m.get("ask") == "api_req_failed"
        ]
        assert set(failed) <= {"500"}, path  # no auth failures, only transient server errors
        assert b'"isOutsideWorkspace":true' not in path.read_bytes()


def test_s3_output_matches_local_bytes(tmp_path, s3, buckets):
    local = tmp_path / "local"
    generate_fleet(str(local), users=2, days=1, seed=5)
    truth = generate_fleet(
        f"s3://{buckets.data_bucket}/raw/", users=2, days=1, seed=5, s3_client=s3
    )
    remote = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=buckets.data_bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=buckets.data_bucket, Key=obj["Key"])["Body"].read()
            remote[obj["Key"]] = hashlib.sha256(body).hexdigest()
    assert remote == tree(local)
    assert truth["stats"]["files"] + 1 == len(remote)
    assert "raw/org/roster.csv" in remote and "ground_truth.json" in remote


def test_s3_output_to_missing_bucket_is_one_line_error(s3, storage_settings):
    from tasks.common.errors import StorageError

    with pytest.raises(StorageError) as err:
        generate_fleet(
            f"s3://{storage_settings.data_bucket}-missing/", users=1, days=1, seed=1, s3_client=s3
        )
    assert "\n" not in str(err.value) and "NoSuchBucket" in str(err.value)


def test_cli_json_summary(tmp_path):
    from click.testing import CliRunner

    from cli.generate import generate

    out = tmp_path / "cli"
    res = CliRunner().invoke(
        generate,
        [
            "--users",
            "3",
            "--days",
            "2",
            "--seed",
            "9",
            "--out",
            str(out),
            "--start",
            "2026-03-02",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    truth = json.loads((out / "ground_truth.json").read_text())
    assert summary["start"] == "2026-03-02" == truth["start"]
    assert (
        summary["tasks"] == len(truth["tasks"])
        and summary["incidents"] == len(truth["incidents"]) > 0
    )
    assert all(s["value"] not in res.output for s in truth["secrets"])


def test_cli_clean_human_summary_and_default_start(tmp_path):
    from click.testing import CliRunner

    from cli.generate import generate

    out = tmp_path / "cli"
    res = CliRunner().invoke(
        generate, ["--users", "2", "--days", "1", "--out", str(out), "--clean"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("wrote 2 users x 1 days") and "planted 0 incidents" in res.output
    truth = json.loads((out / "ground_truth.json").read_text())
    assert date.fromisoformat(truth["start"]) < date.today()
    bad = CliRunner().invoke(generate, ["--users", "0", "--out", str(out)])
    assert bad.exit_code == 2 and "--users" in bad.output


def test_cli_writes_to_s3_with_configured_endpoint(tmp_path, buckets, s3_server):
    from click.testing import CliRunner

    from cli.generate import generate

    env = {
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "COMPLIANCE_DATA_BUCKET": buckets.data_bucket,
        "COMPLIANCE_REPORTS_BUCKET": buckets.reports_bucket,
    }
    res = CliRunner(env=env).invoke(
        generate, ["--users", "2", "--days", "1", "--out", f"s3://{buckets.data_bucket}/", "--json"]
    )
    assert res.exit_code == 0, res.output
    from tasks.common.s3 import s3_client

    client = s3_client(buckets)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=buckets.data_bucket)["Contents"]]
    assert "raw/org/roster.csv" in keys and json.loads(res.output)["files"] + 1 == len(keys)


def test_tiny_fleet_plants_what_fits(tmp_path):
    truth = generate_fleet(str(tmp_path), users=1, days=1, seed=2)
    kinds = {i["kind"] for i in truth["incidents"]}
    assert "over_budget_team" not in kinds  # needs several teams
    assert {"spend_spike", "god_mode_settings", "terminated_user_access"} <= kinds
    assert {m["reason"] for m in truth["malformed"]} == {
        "not_json",
        "missing_ts",
        "not_utf8",
        "bad_type",
    }
    assert truth["secrets"] and all((tmp_path / s["file"]).exists() for s in truth["secrets"])


def test_bad_arguments_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="users and days"):
        generate_fleet(str(tmp_path), users=0, days=1, seed=1)
    with pytest.raises(ValueError, match="s3 client"):
        generate_fleet("s3://bucket/raw/", users=1, days=1, seed=1)
