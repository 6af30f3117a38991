"""Small on endpoints: what a collect run imports, and the schedules it prints."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tasks.collect.schedule import split_systemd
from tests.collect.helpers import machine

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("prefect", "great_expectations", "pandas", "pyarrow", "dask", "duckdb")
PROBE = """
import json, runpy, sys
sys.argv = ["compliance", *json.loads(sys.argv[1])]
try:
    runpy.run_module("cli.main", run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print(json.dumps({"heavy": heavy, "code": code}))
"""


def probe(args: list[str], tmp_path: Path, endpoint: str | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "st")}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (list(HEAVY),), json.dumps(args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_real_collect_run_imports_no_job_framework(tmp_path, fleet, fleet_users, buckets):
    home = tmp_path / "home"
    machine(home, "vscode", "linux", fleet[0] / "raw/roo" / fleet_users[0])
    to = f"s3://{buckets.data_bucket}/raw/"
    got = probe(
        ["collect", "--home", str(home), "--user", "u", "--to", to, "--json", "--redact"],
        tmp_path,
        buckets.endpoint_url,
    )
    assert got == {"heavy": [], "code": None} or got == {"heavy": [], "code": 0}


def test_the_probe_sees_a_heavy_import(tmp_path, fleet, fleet_users):
    """The probe can fail: summarizing (the ingestion) imports pyarrow."""
    folder = fleet[0] / "raw/roo" / fleet_users[0]
    got = probe(["telemetry", "summarize", str(folder), "--format", "json"], tmp_path)
    assert "pyarrow" in got["heavy"]


def _argv() -> list[str]:
    return ["--home", "/home/dev", "--user", "dev one", "--to", "s3://data/raw/"]


def schedule(kind: str, tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "collect", *_argv(), "--print-schedule", kind],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    return out.stdout


def test_systemd_units_parse(tmp_path):
    files = split_systemd(schedule("systemd", tmp_path))
    assert set(files) == {"compliance-collect.service", "compliance-collect.timer"}
    assert "OnCalendar=hourly" in files["compliance-collect.timer"]
    exec_line = next(
        x for x in files["compliance-collect.service"].splitlines() if x.startswith("ExecStart=")
    )
    assert "collect --json" in exec_line and "'dev one'" in exec_line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # parse as INI when systemd is not on this machine
        import configparser

        for text in files.values():
            cp = configparser.ConfigParser(strict=True, interpolation=None)
            cp.optionxform = str
            cp.read_string(text)
            assert cp.sections()[0] == "Unit"
        return
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for name, text in files.items():
        (unit_dir / name).write_text(text.replace(exec_line, f"ExecStart={shutil.which('true')}"))
    res = subprocess.run(
        [analyze, "verify", *(str(unit_dir / n) for n in files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr


def test_launchd_plist_parses(tmp_path):
    doc = plistlib.loads(schedule("launchd", tmp_path).encode())
    assert doc["StartInterval"] == 3600 and doc["Label"] == "org.compliance-jobs.collect"
    assert doc["ProgramArguments"][1:4] == ["collect", "--json", "--home"]
    assert "dev one" in doc["ProgramArguments"]


def test_windows_task_xml_parses(tmp_path):
    text = schedule("windows", tmp_path)
    root = ET.fromstring(text.encode("utf-16"))  # saved as UTF-16, as Task Scheduler exports
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert root.find("t:Triggers/t:TimeTrigger/t:Repetition/t:Interval", ns).text == "PT1H"
    args = root.find("t:Actions/t:Exec/t:Arguments", ns).text
    assert args.startswith("collect --json") and '"dev one"' in args
    assert root.find("t:Principals/t:Principal/t:RunLevel", ns).text == "LeastPrivilege"


@pytest.mark.parametrize("kind", ["cron"])
def test_unknown_schedule_kind_is_refused(tmp_path, kind):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "cli.main", "collect", "--print-schedule", kind],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode != 0 and "cron" in out.stderr
