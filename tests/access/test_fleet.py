"""Ground truth from the synthetic fleet: every planted over-privilege found, a clean fleet clean."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tasks.access.config import AccessConfig
from tasks.access.demo_seed import seed_iam
from tasks.access.ocsf import ocsf_jsonl_bytes
from tasks.access.review import evaluate_checks
from tasks.access.run import collect_snapshot
from tasks.common.models import FindingStatus
from tasks.common.storage import LocalStore
from tasks.telemetry.generator import generate_fleet

KIND_TO_CHECKS = {
    "god_mode_settings": ["roo_god_mode_auto_approve", "roo_broad_allowed_commands"],
    "broad_allowed_command": ["roo_broad_allowed_commands"],
    "write_outside_workspace_allowed": ["roo_write_outside_workspace"],
    "mcp_always_allow_write": ["roo_mcp_always_allow_write"],
    "project_mcp_override": ["roo_project_mcp_overrides_global"],
    "key_in_profile": ["roo_credentials_in_settings"],
    "no_auto_approval_cap": ["roo_auto_approval_without_caps"],
    "org_allow_all": ["org_allow_all_providers"],
    "public_task_sharing": ["org_public_task_sharing"],
    "terminated_user_access": ["roster_terminated_or_unknown_access"],
}


def _owner(resource: str) -> str | None:
    """The fleet user (roo:<user>…) or IAM user (iam:user/<name>…) a finding is about."""
    if resource.startswith("roo:org"):
        return None
    if resource.startswith("roo:"):
        return resource[4:].split("/", 1)[0]
    if resource.startswith("iam:user/"):
        return resource[9:].split("/", 1)[0]
    return resource


def _review(tmp_path, iam, clean: bool):
    out = tmp_path / "fleet"
    truth = generate_fleet(str(out), users=10, days=1, seed=11, clean=clean)
    seed_iam(iam, truth["users"], truth, plant=not clean)
    snapshot, _ = collect_snapshot(LocalStore(out), AccessConfig(), datetime.now(UTC), iam)
    findings = evaluate_checks(snapshot, AccessConfig())
    return truth, findings


@pytest.mark.slow
def test_every_planted_problem_is_found_and_nothing_else(tmp_path, iam):
    truth, findings = _review(tmp_path, iam, clean=False)
    failing = {(f.check, _owner(f.resource)) for f in findings if f.status != FindingStatus.passed}
    expected = set()
    for inc in truth["incidents"]:
        for check in KIND_TO_CHECKS.get(inc["kind"], []):
            expected.add((check, inc["user"]))
    for planted in truth["iam_planted"]:
        expected |= {(c, planted["aws_user"]) for c in planted["checks"]}
    assert expected - failing == set(), "missed planted problems"
    assert failing - expected == set(), "false alarms"
    blob = (
        json.dumps([f.model_dump(mode="json") for f in findings])
        + ocsf_jsonl_bytes(findings, run_id="r", generated_at=datetime.now(UTC)).decode()
    )
    for secret in truth["secrets"]:
        assert secret["value"] not in blob


@pytest.mark.slow
def test_clean_fleet_yields_no_finding(tmp_path, iam):
    _, findings = _review(tmp_path, iam, clean=True)
    assert [f.message for f in findings if f.status != FindingStatus.passed] == []
