"""`compliance collect` as an operator runs it: a subprocess, env for the endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.collect.helpers import bucket_objects, machine

ROOT = Path(__file__).resolve().parents[2]


def cli(args, endpoint, tmp_path, **env):
    full = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL": endpoint,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "COMPLIANCE_REDACTION_KEY": "k",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "collect", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=tmp_path,
        timeout=120,
    )


def test_json_last_line_and_unchanged_rerun(tmp_path, fleet, fleet_users, s3, buckets):
    root, _ = fleet
    home = tmp_path / "home"
    machine(home, "cursor", "windows", root / "raw/roo" / fleet_users[1])
    to = f"s3://{buckets.data_bucket}/raw/"
    args = ["--home", str(home), "--user", "ann", "--to", to, "--json"]
    first = cli(args, buckets.endpoint_url, tmp_path)
    assert first.returncode == 0, first.stderr
    last = json.loads(first.stdout.strip().splitlines()[-1])
    assert set(last) == {"user", "uploaded", "unchanged", "skipped", "bytes", "errors"}
    assert last["user"] == "ann" and last["uploaded"] > 0 and last["errors"] == 0
    assert last["uploaded"] == len(bucket_objects(s3, buckets.data_bucket, "raw/roo/ann/"))
    again = json.loads(cli(args, buckets.endpoint_url, tmp_path).stdout.strip().splitlines()[-1])
    assert again["uploaded"] == 0 and again["unchanged"] == last["uploaded"]


def test_code_server_says_where_state_is(tmp_path, fleet, fleet_users, s3, buckets):
    root, _ = fleet
    home = tmp_path / "home"
    machine(home, "code-server", "linux", root / "raw/roo" / fleet_users[2])
    to = f"s3://{buckets.data_bucket}/raw/"
    out = cli(
        ["--home", str(home), "--user", "cs", "--to", to, "--json"], buckets.endpoint_url, tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "code-server keeps global state in the browser" in out.stderr
    keys = bucket_objects(s3, buckets.data_bucket, "raw/roo/cs/")
    assert "settings/roo-code-settings.json" not in keys and any(
        k.startswith("tasks/") for k in keys
    )


def test_bad_destination_is_one_line(tmp_path):
    out = cli(
        ["--home", str(tmp_path), "--user", "u", "--to", "nowhere"], "http://127.0.0.1:9", tmp_path
    )
    assert out.returncode != 0
    assert out.stderr.count("\n") == 1 and "s3://" in out.stderr


def test_all_users_maps_unix_users_to_roster_users(tmp_path, fleet, fleet_users, s3, buckets):
    root, _ = fleet
    homes = tmp_path / "homes"
    machine(homes / "u1001", "code-server", "linux", root / "raw/roo" / fleet_users[0])
    machine(homes / "u1002", "vscode-server", "remote", root / "raw/roo" / fleet_users[1])
    (homes / "stranger").mkdir()
    csv = tmp_path / "map.csv"
    csv.write_text("unix_user,user\nu1001,alice\nu1002,bob\n")
    to = f"s3://{buckets.data_bucket}/raw/"
    out = cli(
        ["--all-users", "--homes-root", str(homes), "--users-csv", str(csv), "--to", to, "--json"],
        buckets.endpoint_url,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.strip().splitlines()]
    assert [x["user"] for x in lines] == ["alice", "bob", "(all)"]
    assert "'stranger' not in the mapping" in out.stderr
    assert "Remote SSH / dev container" in out.stderr
    assert bucket_objects(s3, buckets.data_bucket, "raw/roo/alice/tasks/")
    assert bucket_objects(s3, buckets.data_bucket, "raw/roo/bob/tasks/")
