"""findings.ocsf.jsonl validated against OCSF 1.5.0 with Prowler's models (py-ocsf-models).

pydantic models accept unknown keys silently, so `strict` also walks every record and
rejects an attribute the schema does not define (`cloud` is allowed through the cloud
profile the record declares). `unmapped` is OCSF's place for source-specific data.
"""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime

import pytest
from py_ocsf_models import OCSF_VERSION as MODELS_VERSION
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.objects.cloud import Cloud
from pydantic import BaseModel, ValidationError

from tasks.access.config import AccessConfig
from tasks.access.ocsf import OCSF_VERSION, ocsf_jsonl_bytes
from tasks.access.review import evaluate_checks
from tasks.common.models import Finding
from tests.access.builders import NOW
from tests.access.test_review_parts import fleet

PROFILES = {"cloud": {"cloud": Cloud}}


def _model_of(annotation):
    for arg in typing.get_args(annotation) or (annotation,):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _model_of(arg) if typing.get_args(arg) else None
        if inner:
            return inner
    return None


def _unknown(obj, model: type[BaseModel], path: str, extra: dict) -> list[str]:
    if isinstance(obj, list):
        return [p for i, x in enumerate(obj) for p in _unknown(x, model, f"{path}[{i}]", {})]
    if not isinstance(obj, dict):
        return []
    bad = []
    for key, value in obj.items():
        if key in extra:
            extra[key].model_validate(value)
            bad += _unknown(value, extra[key], f"{path}.{key}", {})
        elif key not in model.model_fields:
            bad.append(f"{path}.{key}")
        elif key != "unmapped" and (sub := _model_of(model.model_fields[key].annotation)):
            bad += _unknown(value, sub, f"{path}.{key}", {})
    return bad


def strict(record: dict) -> ComplianceFinding:
    """Schema-valid and nothing outside the schema, or ValidationError/AssertionError."""
    model = ComplianceFinding.model_validate(record)
    extra = {}
    for profile in record.get("metadata", {}).get("profiles", []):
        extra.update(PROFILES[profile])
    unknown = _unknown(record, ComplianceFinding, "$", extra)
    assert not unknown, f"attributes outside OCSF {MODELS_VERSION}: {unknown}"
    return model


def _findings() -> list[Finding]:
    """A real access review of a built fleet: passes, failures, a mute, nothing-to-check."""
    findings = evaluate_checks(fleet(), AccessConfig())
    findings[0].details["muted"] = True
    return findings


def _records(findings, account="123456789012"):
    blob = ocsf_jsonl_bytes(findings, run_id="r1", generated_at=NOW, account=account)
    return [json.loads(line) for line in blob.splitlines()]


def test_every_record_validates_against_ocsf():
    assert OCSF_VERSION == MODELS_VERSION
    records = _records(_findings())
    assert len(records) > 20
    for r in records:
        m = strict(r)
        assert m.class_uid == 2003 and m.type_uid == 200301


def test_passes_are_informational_and_failures_keep_their_severity():
    findings = _findings()
    for f, r in zip(findings, _records(findings), strict=True):
        if r["compliance"]["status_id"] == 1:  # Pass
            assert f.status.value == "pass" and r["severity_id"] == 1
            assert r["status"] in ("Resolved", "Suppressed")
        elif r["compliance"]["status_id"] == 3:  # Fail
            assert r["severity"].lower() == f.severity.value.replace("info", "informational")
        else:  # not evaluated: an error, or no root row in the credential report
            assert r["status_code"] == "NOT_EVALUATED" and r["severity_id"] == 1
    root = [r for r in _records(findings) if r["compliance"]["control"] == "iam_root_mfa_disabled"]
    assert root and root[0]["compliance"]["status_id"] == 2


def test_mappings_account_and_times():
    records = _records(_findings())
    god = next(r for r in records if r["compliance"]["control"] == "roo_god_mode_auto_approve")
    assert "SOC 2 CC6.1" in god["compliance"]["requirements"]
    assert "AICPA SOC 2 (TSC 2017)" in god["compliance"]["standards"]
    assert "mappings" not in god["unmapped"] and "cloud" not in god  # agent settings: no AWS
    iam = next(r for r in records if r["resources"][0]["uid"].startswith("iam:"))
    assert iam["cloud"]["account"]["uid"] == "123456789012" and iam["metadata"]["profiles"] == ["cloud"]  # fmt: skip
    info = iam["finding_info"]
    assert info["first_seen_time"] <= info["last_seen_time"] == iam["time"]
    f = Finding.make("roster_self_approval", "high", "fail", "p", "m", first_seen="2026-01-02T03:04:05Z")  # fmt: skip
    [r] = _records([f])
    assert r["finding_info"]["first_seen_time"] == int(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp() * 1000)  # fmt: skip
    assert "cloud" not in _records([_findings()[0]], account="")[0]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.update(severity_id=9),  # not an OCSF severity
        lambda r: r["compliance"].update(status_id=7),
        lambda r: r["finding_info"].pop("uid"),
        lambda r: r.update(type_uid=200401),  # a Detection Finding's type in a Compliance Finding
        lambda r: r.update(mappings={"soc2": ["CC6.1"]}),  # outside the schema
        lambda r: r["finding_info"].update(owner="ana"),
        lambda r: r.update(cloud={"provider": "AWS"}) or r["metadata"].update(profiles=[]),
    ],
)
def test_validator_rejects_what_ocsf_does_not_allow(mutate):
    r = _records(_findings())[1]
    strict(r)
    mutate(r)
    with pytest.raises((ValidationError, AssertionError)):
        strict(r)
