"""The endpoint install is light: the wheel's metadata, resolved transitively, and what
`compliance collect` imports.

The wheel is built from a copy of the package (`pip wheel --no-deps --no-build-isolation`,
offline). Its Requires-Dist are resolved through the metadata of the distributions
installed in this venv (which holds every extra), following markers and extras, so a heavy
package pulled in two levels down fails the test too — credsweeper, for one, depends on
pandas, numpy and onnxruntime, which is why it is not a dependency of the base install.
"""

from __future__ import annotations

import importlib.metadata as md
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.collect.test_endpoint import HEAVY, probe

ROOT = Path(__file__).resolve().parents[2]
HEAVY_DISTS = {
    "prefect",
    "great-expectations",
    "pandas",
    "pyarrow",
    "numpy",
    "dask",
    "duckdb",
    "onnxruntime",
    "credsweeper",  # installed with --no-deps on an endpoint: its rule file only
    "moto",
}


@pytest.fixture(scope="module")
def wheel_requires(tmp_path_factory) -> list[str]:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    shutil.copy(ROOT / "pyproject.toml", src)
    for pkg in ("cli", "flows", "tasks"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    out = work / "dist"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    (whl,) = out.glob("compliance_jobs-*.whl")
    with zipfile.ZipFile(whl) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = z.read(name).decode()
        assert "cli/main.py" in z.namelist() and "tasks/collect/run.py" in z.namelist()
    return [
        ln.split(":", 1)[1].strip() for ln in meta.splitlines() if ln.startswith("Requires-Dist:")
    ]


def closure(requires: list[str], extras: set[str]) -> tuple[set[str], list[str]]:
    """Every distribution `pip install wheel[extras]` pulls in, as installed here."""
    seen: set[tuple[str, frozenset[str]]] = set()
    missing: list[str] = []
    todo = [(Requirement(r), frozenset(extras)) for r in requires]
    while todo:
        req, active = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in active or {""}):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            missing.append(name)
            continue
        seen.add(key)
        todo += [(Requirement(r), frozenset(req.extras)) for r in dist.requires or []]
    return {n for n, _ in seen}, missing


@pytest.mark.parametrize("extras", [set(), {"collect"}])
def test_the_collector_install_pulls_no_job_framework(wheel_requires, extras):
    direct = {canonicalize_name(Requirement(r).name) for r in wheel_requires
              if not Requirement(r).marker
              or any(Requirement(r).marker.evaluate({"extra": e}) for e in extras or {""})}  # fmt: skip
    assert direct and not direct & HEAVY_DISTS
    names, missing = closure(wheel_requires, extras)
    assert not missing
    assert {"boto3", "click", "hyperscan", "cryptography"} <= names
    assert not names & HEAVY_DISTS, sorted(names & HEAVY_DISTS)
    assert len(names) < 30, sorted(names)


def test_the_server_extra_holds_the_jobs(wheel_requires):
    """The check above can fail: the same resolution of `[server]` finds the heavy stack."""
    names, missing = closure(wheel_requires, {"server"})
    assert not missing
    assert {"prefect", "great-expectations", "pandas", "pyarrow", "credsweeper"} <= names


def test_collect_help_imports_no_job_framework(tmp_path):
    got = probe(["collect", "--help"], tmp_path)
    assert got["heavy"] == [] and got["code"] in (0, None)
    assert set(HEAVY) >= {"prefect", "great_expectations", "pandas", "pyarrow"}


def test_a_missing_rule_package_is_one_line(monkeypatch, tmp_path):
    from cli.main import cli

    monkeypatch.setattr("tasks.retention.sources.SOURCE", "no-such-rule-package")
    monkeypatch.setenv("COMPLIANCE_REDACTION_KEY", "k" * 40)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    res = CliRunner().invoke(
        cli, ["collect", "--home", str(tmp_path), "--user", "u", "--to", "s3://b/raw/", "--dry-run"]
    )
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "pip install --no-deps" in lines[0], res.output
