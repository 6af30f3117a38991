"""assessment-results.oscal.json validated with compliance-trestle's OSCAL 1.1.3 models."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from pydantic.v1 import ValidationError
from trestle.oscal import OSCAL_VERSION as TRESTLE_OSCAL
from trestle.oscal.assessment_results import Model

from tasks.common.models import Finding, Period
from tasks.reports import build_report
from tasks.reports.oscal import FILENAME, OSCAL_VERSION, assessment_results, oscal_json_bytes
from tests.reports.conftest import JOBS

PERIOD = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 8, tzinfo=UTC))


def _report():
    findings = [
        Finding.make("roo_god_mode_auto_approve", "critical", "fail", "roo:a", "god mode"),
        Finding.make("roo_god_mode_auto_approve", "critical", "pass", "roo:b", "fine"),
        Finding.make("iam_root_mfa_disabled", "critical", "pass", "iam:root",
                     "credential report has no <root_account> row; nothing to check"),
        Finding.make("roster_self_approval", "high", "pass", "all", "no failing resource"),
        Finding.make("org_public_task_sharing", "medium", "fail", "roo:org", "public", muted=True),
        Finding.make("budget.spend", "high", "fail", "team:x", "over budget"),
    ]  # fmt: skip
    return build_report("access-review", "20261108T060000Z-abcd1234", PERIOD, PERIOD.end, "fail", {}, findings)  # fmt: skip


def validate(doc: dict) -> Model:
    return Model.parse_obj(doc)


def test_document_validates_and_links_findings_to_controls():
    assert OSCAL_VERSION == TRESTLE_OSCAL
    doc = assessment_results(_report())
    result = validate(doc).assessment_results.results[0]
    obs = {str(o.uuid): o for o in result.observations}
    assert len(obs) == 5  # one per check
    states = {}
    for f in result.findings:
        assert {str(r.observation_uuid) for r in f.related_observations} <= set(obs)
        states[(f.title.rsplit(" (", 1)[0], f.target.target_id)] = f.target.status.state.value
    assert states[("Agent may run any command unattended (god mode)", "cc6.1")] == "not-satisfied"
    assert states[("Person would approve their own access", "cc6.2")] == "satisfied"
    assert states[("Root account without MFA", "cis-aws-1.5")] == "not-satisfied"  # not evaluated
    assert states[("Organisation allows public task sharing", "cc6.7")] == "not-satisfied"  # muted
    assert states[("Spend over budget", "om-cost-governance")] == "not-satisfied"
    controls = doc["assessment-results"]["results"][0]["reviewed-controls"]
    ids = [c["control-id"] for c in controls["control-selections"][0]["include-controls"]]
    assert "cc6.1" in ids and "cis-aws-1.5" in ids and ids == sorted(ids)
    god = next(o for o in result.observations if o.title.startswith("Agent may run"))
    assert "not-satisfied: roo:a" in god.description and "satisfied: roo:b" in god.description


def test_same_run_same_bytes():
    assert oscal_json_bytes(_report()) == oscal_json_bytes(_report())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["results"][0]["findings"][0]["target"]["status"].update(state="passed"),
        lambda d: d["results"][0]["observations"][0].update(collected="yesterday"),
        lambda d: d["results"][0].update(verdict="ok"),  # not an OSCAL field
        lambda d: d.update(uuid="not-a-uuid"),
        lambda d: d["results"][0]["findings"][0]["target"].update({"target-id": "1 bad id"}),
        lambda d: d.pop("import-ap"),
    ],
)
def test_validator_rejects_invalid_oscal(mutate):
    doc = assessment_results(_report())
    validate(doc)
    mutate(doc["assessment-results"])
    with pytest.raises(ValidationError):
        validate(doc)


@pytest.mark.parametrize("job", JOBS)
def test_every_bundle_carries_signed_valid_assessment_results(job, demo_out):
    bundle = sorted((demo_out / "bundles" / "reports" / job).rglob(FILENAME))[-1].parent
    doc = json.loads((bundle / FILENAME).read_text())
    ar = validate(doc).assessment_results
    report = json.loads((bundle / "report.json").read_text())
    assert ar.metadata.version == report["run_id"] and ar.results[0].observations
    envelope = json.loads((bundle / "attestation.dsse.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert FILENAME in {s["name"] for s in statement["subject"]}
