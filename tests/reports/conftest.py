"""Every job's real bundle, once per session: `compliance demo` on a small generated fleet.

The demo is the product end to end (embedded S3 over HTTP, Prefect, five jobs, signed
bundles downloaded and verified), so the pages tested here are the pages an auditor gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.registry import JOBS as REGISTERED_JOBS

ROOT = Path(__file__).resolve().parents[2]
JOBS = list(REGISTERED_JOBS)  # every scheduled job the demo runs: each report is tested


@pytest.fixture(scope="session")
def demo_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COMPLIANCE_SIGNING_KEY", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "demo",
            "--users",
            "6",
            "--days",
            "5",
            "--out",
            str(out),
        ],
        cwd=tmp_path_factory.getbasetemp(),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def job_pages(demo_out) -> dict[str, Path]:
    """job -> the newest report.html of that job in the downloaded bundles."""
    pages = {}
    for job in JOBS:
        found = sorted((demo_out / "bundles" / "reports" / job).rglob("report.html"))
        assert found, f"the demo left no {job} bundle"
        pages[job] = found[-1]
    return pages
