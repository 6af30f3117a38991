import json

import pytest
from click.testing import CliRunner

from cli.main import cli

BAD = """
budgets:
  rules:
    - {type: spend, name: x, scope: team, period: month, amount: -5}
    - {type: spnd, name: y}
redaction:
  custom_rules:
    - {name: a, kind: b, pattern: "("}
schedules: {cost-budget: "not a cron", cost-buget: "0 7 * * *"}
notifications: {webhook_url: "ftp://x"}
quality:
  max_quarantine_rate: 2
  recent_dayz: 7
  signals: {write_burst_mim: 3}
access:
  chekcs: [iam_root_mfa_disabled]
  campaign: {due_days: 0}
bogus: 1
qualty: {}
"""

GOOD = """
storage: {retention_days: 30}
budgets:
  timezone: Europe/Paris
  rules:
    - {type: spend, name: team-month, scope: team, period: month, amount: 500}
schedules: {cost-budget: "0 7 * * *", timezone: UTC}
notifications: {webhook_url: "https://hooks.example.com/x"}
"""

STORAGE_ENV = ["COMPLIANCE_DATA_BUCKET", "COMPLIANCE_REPORTS_BUCKET", "COMPLIANCE_SIGNING_KEY",
               "COMPLIANCE_RETENTION_DAYS", "AWS_ENDPOINT_URL", "COMPLIANCE_CONFIG"]  # fmt: skip


@pytest.fixture
def runnable(tmp_path):
    """What `compliance run` needs: both buckets and a signing key that exists."""
    key = tmp_path / "signing-key.pem"
    key.write_text("not read by config check")
    return {"COMPLIANCE_DATA_BUCKET": "data", "COMPLIANCE_REPORTS_BUCKET": "reports",
            "COMPLIANCE_SIGNING_KEY": str(key)}  # fmt: skip


def _check(tmp_path, text, env=None, as_json=True):
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(text)
    env = {k: None for k in STORAGE_ENV} | (env or {})
    args = ["--config", str(cfg), "config", "check"] + (["--json"] if as_json else [])
    return CliRunner().invoke(cli, args, env=env)


def _problems(result):
    return json.loads(result.output)["problems"]


def test_every_problem_of_every_section_once_naming_file_and_key(tmp_path, runnable):
    result = _check(tmp_path, BAD, runnable)
    assert result.exit_code == 2
    problems = _problems(result)
    expected = {
        "bogus": "unknown section",
        "qualty": "did you mean 'quality'?",
        "budgets.rules[0].amount": "",
        "budgets.rules[1].type": "did you mean 'spend'?",
        "redaction.custom_rules.0.pattern": "",
        "schedules.cost-budget": "invalid cron expression",
        "schedules.cost-buget": "did you mean 'cost-budget'?",
        "notifications.webhook_url": "http(s)",
        "quality.max_quarantine_rate": "less than or equal to 1",
        "quality.recent_dayz": "unknown key; did you mean 'recent_days'?",
        "quality.signals.write_burst_mim": "did you mean 'write_burst'?",
        "access.chekcs": "did you mean 'checks'?",
        "access.campaign.due_days": "greater than or equal to 1",
    }
    for key, words in expected.items():
        hits = [p for p in problems if f": {key}:" in p]
        assert len(hits) == 1 and words in hits[0], (key, problems)
    assert len(problems) == len(expected), problems
    assert all(p.startswith(str(tmp_path / "compliance.yaml")) and "\n" not in p for p in problems)


def test_good_config_passes(tmp_path, runnable):
    result = _check(tmp_path, GOOD, runnable)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "ok": True,
        "source": str(tmp_path / "compliance.yaml"),
        "problems": [],
    }
    plain = _check(tmp_path, GOOD, runnable, as_json=False)
    assert plain.exit_code == 0 and plain.output.strip().endswith(": ok")


def test_fails_when_run_would_fail_without_buckets_or_key(tmp_path):
    result = _check(tmp_path, GOOD)
    assert result.exit_code == 2
    problems = _problems(result)
    for key in ("storage.data_bucket", "storage.reports_bucket", "storage.signing_key"):
        assert any(f": {key}: not set" in p for p in problems), problems
    missing = _check(tmp_path, GOOD, {"COMPLIANCE_DATA_BUCKET": "d", "COMPLIANCE_REPORTS_BUCKET": "r",
                                       "COMPLIANCE_SIGNING_KEY": str(tmp_path / "nope.pem")})  # fmt: skip
    assert _problems(missing) == [f"{tmp_path / 'compliance.yaml'}: storage.signing_key: {tmp_path / 'nope.pem'}: no such file"]  # fmt: skip


def test_storage_problems_do_not_hide_the_other_sections(tmp_path, runnable):
    text = "storage: {retention_days: 0, reports_buket: x}\nquality: {recent_dayz: 1}\n"
    problems = _problems(_check(tmp_path, text, runnable))
    assert any("storage.retention_days: Input should be greater than or equal to 1" in p for p in problems)  # fmt: skip
    assert any("storage.reports_buket: unknown key; did you mean 'reports_bucket'?" in p for p in problems)  # fmt: skip
    assert any("quality.recent_dayz" in p for p in problems)


@pytest.mark.parametrize("text", ["schedules: [a]\n", "quality: 5\n", "budgets: {rules: 3}\n",
                                  "budgets: {rules: [7]}\n", "access: {mutes: [{}]}\n"])  # fmt: skip
def test_wrong_shapes_are_one_line_not_a_traceback(tmp_path, runnable, text):
    result = _check(tmp_path, text, runnable, as_json=False)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # no traceback
    lines = result.output.strip().splitlines()
    assert lines and all(
        line.startswith(f"error: {tmp_path / 'compliance.yaml'}: ") for line in lines
    )
    assert "Traceback" not in result.output


def test_unreadable_yaml_is_one_line(tmp_path):
    result = _check(tmp_path, "budgets: [unclosed\n")
    assert result.exit_code == 2
    assert _problems(result) == [f"{tmp_path / 'compliance.yaml'}: line 2 is not valid YAML"]


def test_version_is_the_project_version():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"compliance {project['version']}\n"
