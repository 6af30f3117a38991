"""Meta-tests: every check folder is well-formed, has valid metadata and a PASS and FAIL test."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from tasks.access.base import CheckDefinitionError, CheckMetadata
from tasks.access.docs import render_checks_markdown
from tasks.access.registry import check_folders, discover

from .check_cases import CASES

FOLDERS = [p.name for p in check_folders()]
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _readme_check_ids() -> list[str]:
    """Check ids in the README's table (the user's manual), read from the README itself."""
    return re.findall(r"^\| `([a-z0-9_]+)` \| (?:agent|iam|org|roster) \|", README, re.M)


def test_readme_lists_exactly_the_registered_checks():
    assert sorted(_readme_check_ids()) == sorted(discover())
    assert sorted(discover()) == sorted(FOLDERS)


def test_readme_check_table_is_the_rendered_one():
    assert render_checks_markdown().strip() in README, "run: python -m tasks.access.docs"


def test_every_registered_check_has_test_cases():
    assert sorted(set(CASES)) == sorted(discover())


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


def test_unknown_required_part_is_rejected(tmp_path):
    cls = _load_check(tmp_path, "typo_req", {**GOOD, "id": "typo_req"})
    cls.requires = ("setings",)
    with pytest.raises(CheckDefinitionError, match="unknown snapshot part"):
        cls.load_metadata()


def test_settings_checks_are_guarded_when_no_settings_were_collected():
    from datetime import UTC, datetime

    from tasks.access.snapshot import AccessSnapshot
    from tasks.common.models import FindingStatus

    snapshot = AccessSnapshot(now=datetime(2026, 11, 1, tzinfo=UTC))
    settings_checks = [c for c in discover().values() if "settings" in c.requires]
    assert settings_checks
    for cls in settings_checks:
        findings = cls().run(snapshot)
        assert [f.status for f in findings] == [FindingStatus.error], cls.metadata.id
        assert "settings not collected" in findings[0].message
