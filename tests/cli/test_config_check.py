import json

from click.testing import CliRunner

from cli.main import cli

BAD = """
budgets:
  rules:
    - {type: spend, name: x, scope: team, period: month, amount: -5}
redaction:
  custom_rules:
    - {name: a, kind: b, pattern: "("}
schedules: {cost-budget: "not a cron"}
notifications: {webhook_url: "ftp://x"}
bogus: 1
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


def _check(tmp_path, text):
    cfg = tmp_path / "compliance.yaml"
    cfg.write_text(text)
    return CliRunner().invoke(cli, ["--config", str(cfg), "config", "check", "--json"])


def test_every_bad_section_reported_once_naming_file_and_key(tmp_path):
    result = _check(tmp_path, BAD)
    assert result.exit_code == 2
    problems = json.loads(result.output)["problems"]
    keys = [
        "bogus",
        "budgets.rules[0].amount",
        "redaction.custom_rules.0.pattern",
        "schedules.cost-budget",
        "notifications.webhook_url",
    ]
    for key in keys:
        assert sum(key in p for p in problems) == 1, (key, problems)
    assert all(p.startswith(str(tmp_path / "compliance.yaml")) and "\n" not in p for p in problems)


def test_good_config_passes(tmp_path):
    result = _check(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "ok": True,
        "source": str(tmp_path / "compliance.yaml"),
        "problems": [],
    }


def test_unreadable_yaml_is_one_line(tmp_path):
    result = _check(tmp_path, "budgets: [unclosed\n")
    assert result.exit_code == 2
    assert json.loads(result.output)["problems"] == [
        f"{tmp_path / 'compliance.yaml'}: line 2 is not valid YAML"
    ]
