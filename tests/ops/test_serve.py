"""`compliance serve` builds the same deployments, names and schedules as prefect.yaml."""

from pathlib import Path

import yaml

from cli.serve import build_deployments

PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


def _crons(deployment):
    return [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules]


def test_serve_matches_prefect_yaml():
    served = {d.name: d for d in build_deployments()}
    declared = {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    assert set(served) == set(declared)
    for name, spec in declared.items():
        flow_file, _, flow_attr = spec["entrypoint"].partition(":")
        assert Path(flow_file).stem == flow_attr
        assert [c for c, _ in _crons(served[name])] == [s["cron"] for s in spec["schedules"]]


def test_config_overrides_cron_and_timezone_but_keeps_the_quarterly_campaign():
    served = {d.name: d for d in build_deployments({"access-review": "0 8 * * 2"}, "Europe/Paris")}
    assert _crons(served["access-review"]) == [
        ("0 8 * * 2", "Europe/Paris"),
        ("0 6 1 1,4,7,10 *", "Europe/Paris"),
    ]
    assert _crons(served["cost-budget"]) == [("0 7 * * *", "Europe/Paris")]
