"""`compliance serve` builds the same deployments, names, schedules and parameters as
prefect.yaml; on-demand flows are deployed but never scheduled, run or demoed as jobs."""

import inspect
import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from cli.serve import build_deployments
from flows.registry import DEPLOYABLE, JOBS, ON_DEMAND

POLICY_STEPS = {"policy-propose", "policy-approve", "policy-reject", "policy-apply"}
PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"


def _crons(deployment):
    return [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules]


def test_serve_matches_prefect_yaml():
    served = {d.name: d for d in build_deployments()}
    declared = {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    assert set(served) == set(declared) == set(DEPLOYABLE)
    for name, spec in declared.items():
        # the entrypoint is the registry's flow as a module path (a file path would import
        # the flow file as a top-level module that Dask workers cannot unpickle from)
        flow = DEPLOYABLE[name].load_flow()
        assert f"{flow.fn.__module__}:{flow.fn.__name__}" == spec["entrypoint"]
        # every parameter the yaml sets is one the flow takes
        assert set(spec["parameters"]) <= set(inspect.signature(flow.fn).parameters), name
        assert [c for c, _ in _crons(served[name])] == [
            s["cron"] for s in spec.get("schedules", [])
        ]


def test_decisions_flow_is_on_demand_only():
    declared = {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    served = {d.name: d for d in build_deployments({"access-review": "0 8 * * 2"})}
    assert set(ON_DEMAND) == {"access-review-decisions", *POLICY_STEPS}
    assert not set(ON_DEMAND) & set(JOBS)
    spec = declared["access-review-decisions"]
    assert "schedules" not in spec and served["access-review-decisions"].schedules == []
    assert spec["parameters"] == {"dry_run": False, "apply": False}  # never applies by default
    assert spec["work_pool"]["name"] == declared["access-review"]["work_pool"]["name"]
    flow = ON_DEMAND["access-review-decisions"].load_flow()
    assert flow.name == "access-review-decisions"
    required = [n for n, p in inspect.signature(flow.fn).parameters.items() if p.default is p.empty]
    assert required == ["decisions"]


def test_config_check_refuses_a_schedule_for_an_on_demand_flow(tmp_path):
    from cli.main import cli

    cfg = tmp_path / "compliance.yaml"
    cfg.write_text('schedules: {access-review-decisions: "0 9 * * *"}\n')
    out = CliRunner().invoke(cli, ["--config", str(cfg), "config", "check", "--json"])
    assert out.exit_code == 2
    problems = json.loads(out.output)["problems"]  # besides what `run` needs (buckets, key)
    assert (
        f"{cfg}: schedules.access-review-decisions: runs on demand, takes no schedule" in problems
    )


def test_config_overrides_cron_and_timezone_but_keeps_the_quarterly_campaign():
    served = {d.name: d for d in build_deployments({"access-review": "0 8 * * 2"}, "Europe/Paris")}
    assert _crons(served["access-review"]) == [
        ("0 8 * * 2", "Europe/Paris"),
        ("0 6 1 1,4,7,10 *", "Europe/Paris"),
    ]
    assert _crons(served["cost-budget"]) == [("0 7 * * *", "Europe/Paris")]


def test_policy_steps_are_on_demand_deployments_taking_what_the_cli_takes():
    declared = {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    served = {d.name: d for d in build_deployments()}
    required = {
        "policy-propose": ["policy_file", "by", "reason"],
        "policy-approve": ["proposal", "by"],
        "policy-reject": ["proposal", "by"],
        "policy-apply": ["proposal"],
    }
    for slug, names in required.items():
        assert "schedules" not in declared[slug] and served[slug].schedules == []
        flow = ON_DEMAND[slug].load_flow()
        assert flow.name == slug
        params = inspect.signature(flow.fn).parameters
        assert [n for n, p in params.items() if p.default is p.empty] == names
        assert "config_path" in params
