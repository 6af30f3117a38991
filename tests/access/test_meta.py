"""Meta-tests: every check folder is well-formed, has valid metadata and a PASS and FAIL test."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tasks.access.base import CheckDefinitionError, CheckMetadata
from tasks.access.registry import check_folders, discover

from .check_cases import CASES

FOLDERS = [p.name for p in check_folders()]


def test_every_folder_is_a_registered_check():
    assert sorted(discover()) == sorted(FOLDERS)
    assert len(FOLDERS) >= 20


@pytest.mark.parametrize("check_id", FOLDERS)
def test_folder_has_valid_metadata_and_tests(check_id):
    folder = Path(discover()[check_id].__module__.replace(".", "/")).parent
    meta = CheckMetadata(
        **json.loads((Path.cwd() / folder / f"{check_id}.metadata.json").read_text())
    )
    assert meta.id == check_id and meta.mappings.soc2
    if meta.category == "iam":
        assert meta.mappings.cis_aws, "IAM checks map to CIS AWS Foundations"
    cases = CASES.get(check_id, [])
    assert any(n == 0 for _, _, n in cases), f"{check_id} has no PASS test"
    assert any(n > 0 for _, _, n in cases), f"{check_id} has no FAIL test"


def _load_check(tmp_path: Path, folder: str, meta: dict) -> type:
    d = tmp_path / folder
    d.mkdir()
    (d / f"{folder}.py").write_text(
        "from tasks.access.base import Check\n\nclass X(Check):\n    def evaluate(self, s):\n        return []\n"
    )
    (d / f"{folder}.metadata.json").write_text(json.dumps(meta))
    spec = importlib.util.spec_from_file_location(f"tmpcheck_{folder}", d / f"{folder}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.X


GOOD = json.loads((check_folders()[0] / f"{check_folders()[0].name}.metadata.json").read_text())


def test_id_folder_and_file_must_agree(tmp_path):
    cls = _load_check(tmp_path, "some_check", {**GOOD, "id": "other_check"})
    with pytest.raises(CheckDefinitionError, match="must agree"):
        cls.load_metadata()


def test_invalid_metadata_is_rejected_with_the_key(tmp_path):
    cls = _load_check(tmp_path, "bad_sev", {**GOOD, "id": "bad_sev", "severity": "urgent"})
    with pytest.raises(CheckDefinitionError, match="severity"):
        cls.load_metadata()
    cls = _load_check(
        tmp_path, "bad_map", {**GOOD, "id": "bad_map", "mappings": {"soc2": ["A1.2"]}}
    )
    with pytest.raises(CheckDefinitionError, match="not SOC 2"):
        cls.load_metadata()
