"""The suite's own scheduling (tests/conftest.py) in a throwaway suite under
`pytest -n 2 --dist loadgroup`: what shares a group runs on one worker, so a session
fixture behind it (the demo run, one Ceph RGW) is built once per run, not once per worker.
pytest 9 keeps a node's id in `_id`, so pytest-xdist 3.8's `_nodeid` suffix alone groups
nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SUITE = {
    "pytest.ini": "[pytest]\nmarkers =\n    slow\n    xdist_group\n",
    "conftest.py": """
import json, os, time
import pytest

@pytest.fixture(scope="session")
def demo_out():  # stands in for tests/reports' demo run
    ran("demo_out")
    return "built"

def ran(name):
    time.sleep(0.3)  # long enough that the other worker is busy with its own unit
    with open(os.environ["GROUPS_LOG"], "a") as f:
        f.write(json.dumps([name, os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")
""",
    "test_a.py": """
import pytest
from conftest import ran

def test_demo_1(demo_out): ran("demo_1")
def test_demo_2(demo_out): ran("demo_2")

@pytest.mark.xdist_group("server")
def test_server_1(): ran("server_1")

@pytest.mark.xdist_group("server")
def test_server_2(): ran("server_2")
""",
    "test_b.py": """
import pytest
from conftest import ran

@pytest.mark.parametrize("i", range(6))
def test_filler(i): ran(f"filler_{i}")

def test_demo_3(demo_out): ran("demo_3")

@pytest.mark.xdist_group("server")
def test_server_3(): ran("server_3")

@pytest.mark.slow
def test_slow(): ran("slow")
""",
}


def _run(tmp_path: Path, *args: str) -> list[list[str]]:
    for name, body in SUITE.items():
        (tmp_path / name).write_text(body)
    log = tmp_path / "ran.jsonl"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "GROUPS_LOG": str(log)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", "--rootdir", str(tmp_path), *args, str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_group_and_the_demos_readers_each_run_on_one_worker(tmp_path):
    ran = _run(tmp_path, "-n", "2", "--dist", "loadgroup")
    on = {name: worker for name, worker in ran}
    assert len(ran) == len(on) == 1 + 3 + 3 + 6 + 1  # the fixture, then each test once
    assert [n for n, _ in ran].count("demo_out") == 1  # built once for the whole run
    assert on["demo_1"] == on["demo_2"] == on["demo_3"] == on["demo_out"]
    assert on["server_1"] == on["server_2"] == on["server_3"]
    assert {w for n, w in ran if n.startswith("filler_")} == {"gw0", "gw1"}  # the rest spread


def test_slow_tests_run_first_and_the_rest_keep_their_order(tmp_path):
    ran = [name for name, _ in _run(tmp_path, "-p", "no:xdist") if name != "demo_out"]
    assert ran[0] == "slow"
    assert ran[1:] == ["demo_1", "demo_2", "server_1", "server_2"] + [
        f"filler_{i}" for i in range(6)
    ] + ["demo_3", "server_3"]
