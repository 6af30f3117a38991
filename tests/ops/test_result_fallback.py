"""`compliance run --via-server` on a machine that cannot read the worker's result storage:
the result is rebuilt from the run's bundle link artifact and the signed envelope."""

from __future__ import annotations

import pytest

from tests.ops.envsetup import STORAGE_ENV, make_env


@pytest.mark.slow
def test_result_rebuilt_from_the_bundle_equals_the_flow_result(
    prefect_harness, s3_server, tmp_path, monkeypatch
):
    from prefect.exceptions import MissingResult

    from cli.run import result_from_bundle
    from flows.jobs import access_review

    for var in STORAGE_ENV:
        monkeypatch.delenv(var, raising=False)
    env = make_env(s3_server.endpoint_url, tmp_path, users=2, days=1, seed=4)
    state = access_review(config_path=str(env.config), return_state=True)
    result = state.result()
    assert result["bundle"]

    monkeypatch.setenv("COMPLIANCE_CONFIG", str(env.config))  # the CLI's own settings
    rebuilt = result_from_bundle(
        "access-review", state.state_details.flow_run_id, MissingResult("not readable here")
    )
    # what alerting did is a run-time figure, not part of the signed bundle
    assert "alerts" in result and "alerts" not in rebuilt
    assert rebuilt == {k: v for k, v in result.items() if k != "alerts"}


@pytest.mark.slow
def test_no_bundle_link_is_a_one_line_error(prefect_harness, s3_server, tmp_path, monkeypatch):
    from prefect.exceptions import MissingResult

    from cli.run import result_from_bundle
    from flows.jobs import access_review

    for var in STORAGE_ENV:
        monkeypatch.delenv(var, raising=False)
    env = make_env(s3_server.endpoint_url, tmp_path, users=2, days=1, seed=4)
    state = access_review(config_path=str(env.config), dry_run=True, return_state=True)
    assert state.result()["bundle"] is None
    with pytest.raises(RuntimeError, match="left 0 bundle links"):
        result_from_bundle("access-review", state.state_details.flow_run_id, MissingResult("x"))
