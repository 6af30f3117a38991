"""readiness over real HTTP (moto, Object Lock): a complete run grades `enterprise`; a
missing job, a stale bundle, a forged bundle and undrilled runbooks each lower the grade,
for the reason the scorecard states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tasks.common.models import Period
from tasks.evidence import load_signer, publish_bundle
from tasks.evidence.signer import generate_key_files
from tasks.readiness import job
from tasks.readiness.grade import evaluate as grade_all
from tasks.runbooks.catalog import load_runbooks
from tasks.runbooks.drills import publish_drill

NOW = datetime.now(UTC)


@pytest.fixture
def env(s3, buckets, tmp_path):
    private, _, _ = generate_key_files(tmp_path / "keys")
    settings = buckets.model_copy(update={"signing_key": str(private)})
    return settings, load_signer(str(private))


def _publish(s3, settings, signer, slug, counts=None, when=None):
    when = when or NOW - timedelta(minutes=5)
    period = Period(start=when - timedelta(days=1), end=when)
    return publish_bundle(
        s3, settings.reports_bucket, slug, {"report.json": b"{}\n"}, signer=signer, period=period,
        status="pass", counts=counts or {"findings": 0}, retention_days=1, generated_at=when,
    ).envelope_uri  # fmt: skip


def _complete_run(s3, settings, signer, skip=(), drills=True):
    uris = {}
    for slug in job.schedules():
        if slug not in skip:
            uris[slug] = _publish(s3, settings, signer, slug)
    _publish(s3, settings, signer, "policy-change", {"proposals": 1})
    uris["policy"] = _publish(s3, settings, signer, "policy", {"version": 1, "approvals": 1})
    if drills:
        for book in load_runbooks().values():
            publish_drill(s3, settings.reports_bucket, signer, book, "ann", "pass", None, 1)
    return uris


def _grade(settings):
    findings, summary, grades = grade_all(job.collect_inputs(settings))
    return findings, summary, {g.id: g for g in grades}


def test_a_complete_run_is_enterprise_with_every_criterion_met_and_its_evidence(s3, env):
    settings, signer = env
    uris = _complete_run(s3, settings, signer)
    findings, summary, grades = _grade(settings)
    assert summary["stage"] == "enterprise", summary["stage_reasons"]
    assert set(summary["grades"].values()) == {"met"} and len(grades) == 8
    assert uris["access-review"] in grades["identity_access"].evidence
    assert uris["policy"] in grades["approval_chain"].evidence
    assert all(f.status == "pass" for f in findings)
    tables = job.scorecard(list(grades.values()), summary)
    assert tables[0].rows[0][2] == "MET" and tables[1].rows[0][0] == "enterprise"


def test_a_missing_job_lowers_the_grade_for_a_stated_reason(s3, env):
    settings, signer = env
    _complete_run(s3, settings, signer, skip=("log-retention",))
    findings, summary, grades = _grade(settings)
    assert grades["retention_redaction"].grade == "not met"
    assert grades["retention_redaction"].missing == ["log-retention: no verified bundle"]
    assert grades["immutable_audit"].grade == "partial"
    assert summary["stage"] == "managed"
    assert summary["stage_reasons"][-2:] == [
        "not enterprise: Retention and redaction is not met",
        "not enterprise: Immutable audit records is partial",
    ]
    failed = {f.resource for f in findings if f.status == "fail"}
    assert failed == {"readiness/retention_redaction", "readiness/immutable_audit"}


def test_a_bundle_outside_its_schedule_counts_as_stale(s3, env):
    settings, signer = env
    _complete_run(s3, settings, signer, skip=("audit-trail",))
    _publish(s3, settings, signer, "audit-trail", when=NOW - timedelta(days=10))
    _, summary, grades = _grade(settings)
    assert grades["observable"].grade == "partial"
    assert "audit-trail: last verified bundle" in grades["observable"].missing[0]
    assert "outside its schedule" in grades["observable"].missing[0]
    assert summary["stage"] == "standardized"


def test_a_bundle_signed_by_another_key_is_not_evidence(s3, env, tmp_path):
    settings, signer = env
    _complete_run(s3, settings, signer, skip=("access-review",))
    other_key, _, _ = generate_key_files(tmp_path / "other")
    _publish(s3, settings, load_signer(str(other_key)), "access-review")  # forged
    _, summary, grades = _grade(settings)
    assert grades["identity_access"].grade == "not met"
    assert grades["access_review"].missing == ["access-review: no verified bundle"]
    assert summary["rejected_bundles"] == 1 and summary["stage"] == "standardized"


def test_undrilled_runbooks_and_no_policy_keep_an_organisation_at_pilot(s3, env):
    settings, signer = env
    for slug in job.schedules():
        if slug != "policy-drift":
            _publish(s3, settings, signer, slug)
    _, summary, grades = _grade(settings)
    assert grades["runbooks"].grade == "not met"
    n = len(load_runbooks())
    assert grades["runbooks"].missing[0].startswith(f"{n} of {n} runbooks without a passing drill")
    assert grades["policy_governed"].grade == "not met"
    assert grades["approval_chain"].grade == "not met"
    assert summary["stage"] == "pilot"
    assert summary["stage_reasons"] == [
        "not standardized: Mode, tool and provider policies centrally governed is not met"
    ]


def test_high_access_findings_make_identity_partial(s3, env):
    settings, signer = env
    _complete_run(s3, settings, signer, skip=("access-review",))
    _publish(s3, settings, signer, "access-review", {"findings": 3, "high": 2})
    _, _, grades = _grade(settings)
    assert grades["identity_access"].grade == "partial"
    assert grades["identity_access"].missing == ["access-review: 2 critical/high findings open"]


def test_high_policy_drift_makes_central_governance_partial(s3, env):
    settings, signer = env
    _complete_run(s3, settings, signer, skip=("policy-drift",))
    _publish(s3, settings, signer, "policy-drift", {"findings": 1, "high": 1})
    _, summary, grades = _grade(settings)
    assert grades["policy_governed"].grade == "partial"
    assert grades["policy_governed"].missing == ["policy-drift: 1 critical/high findings open"]
    assert summary["stage"] == "standardized"


def test_the_flow_publishes_a_scorecard(prefect_harness, s3, env, tmp_path):
    import json

    import yaml

    from flows.jobs import readiness
    from tasks.common.storage import get_bytes

    settings, signer = env
    _complete_run(s3, settings, signer, skip=("cost-budget",))
    config = tmp_path / "compliance.yaml"
    config.write_text(yaml.safe_dump({"storage": settings.model_dump(exclude_none=True)}))
    out = readiness(config_path=str(config))
    assert out["status"] == "warn" and out["bundle"]
    prefix = out["bundle"].split("/", 3)[3].removesuffix("attestation.dsse.json")
    html = get_bytes(s3, settings.reports_bucket, prefix + "report.html").decode()
    assert "Readiness scorecard" in html and "Maturity stage" in html
    report = json.loads(get_bytes(s3, settings.reports_bucket, prefix + "report.json"))
    assert report["summary"]["stage"] == "managed"
    assert report["summary"]["grades"]["immutable_audit"] == "partial"


@pytest.mark.parametrize(
    ("team", "user", "named"),
    [("platform", None, "--team"), (None, "ann", "--user"), ("platform", "ann", "--team/--user")],
)
def test_a_scope_is_refused_in_one_line_naming_the_option(team, user, named):
    from tasks.common.errors import InputError
    from tasks.readiness.collect import refuse_scope

    with pytest.raises(InputError) as err:
        refuse_scope(team, user)
    text = str(err.value)
    assert "\n" not in text and f"{named} does not apply" in text
    assert text.startswith("readiness grades the whole organisation")
    refuse_scope(None, None)  # no scope: nothing to refuse
    refuse_scope("", None)


def test_run_readiness_with_a_team_stops_before_any_flow_in_one_line(monkeypatch):
    """The contract's check_scope hook: `compliance run readiness --team X` is refused by
    the CLI's preflight (exit 2, one line) and by the flow's own preamble."""
    from click.testing import CliRunner

    from cli import run as run_mod
    from cli.main import cli
    from flows.registry import JOBS
    from tasks.common.contract import run
    from tasks.common.errors import InputError
    from tasks.common.settings import load_config

    started = []
    monkeypatch.setattr(run_mod, "run_local", lambda *a, **k: started.append(a))
    result = CliRunner().invoke(cli, ["run", "readiness", "--team", "platform"])
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "--team" in result.output
    assert not started and "Traceback" not in result.output
    with pytest.raises(InputError, match="--user"):
        run(JOBS["readiness"], load_config(None), user="ann", dry_run=True)
