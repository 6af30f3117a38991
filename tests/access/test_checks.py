"""Every check: a PASS and a FAIL case (and, for IAM checks, an error when IAM is missing)."""

from __future__ import annotations

import pytest

from tasks.access.registry import discover
from tasks.common.models import FindingStatus

from .builders import snap
from .check_cases import CASES

PARAMS = [
    pytest.param(cid, s, n, id=f"{cid}-{name}")
    for cid, cases in CASES.items()
    for name, s, n in cases
]


@pytest.mark.parametrize(("check_id", "snapshot", "expected"), PARAMS)
def test_check_pass_and_fail(check_id, snapshot, expected):
    findings = discover()[check_id]().run(snapshot)
    failing = [f for f in findings if f.status != FindingStatus.passed]
    assert len(failing) == expected, [f.message for f in failing]
    assert all(f.check == check_id for f in findings)
    if expected == 0:
        assert findings and all(f.status == FindingStatus.passed for f in findings)


@pytest.mark.parametrize(
    "check_id", sorted(c for c, k in discover().items() if "iam" in k.requires)
)
def test_iam_check_without_iam_is_an_error_finding(check_id):
    s = snap(iam=False)
    s.iam_error = "IAM collection failed: AccessDenied"
    [finding] = discover()[check_id]().run(s)
    assert finding.status == FindingStatus.error
    assert "AccessDenied" in finding.message


def test_crashing_check_is_an_error_not_a_gap(monkeypatch):
    cls = discover()["iam_user_two_active_access_keys"]
    monkeypatch.setattr(cls, "evaluate", lambda self, s: 1 / 0)
    [finding] = cls().run(snap())
    assert finding.status == FindingStatus.error and "ZeroDivisionError" in finding.message


def test_thresholds_are_configurable():
    from tasks.access.config import parse_access_config

    from .builders import key, user

    s = snap([user(access_keys=[key(age=40)])])
    cls = discover()["iam_user_access_key_not_rotated_90_days"]
    assert [f.status for f in cls().run(s)] == [FindingStatus.passed]
    cfg = parse_access_config({"thresholds": {"key_rotation_days": 30}})
    assert [f.status for f in cls(cfg).run(s)] == [FindingStatus.fail]
