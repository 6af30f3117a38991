"""log-retention: redact task logs, delete what is past retention, signed deletion manifest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prefect import get_run_logger, task, unmapped
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE

from flows.common import job_flow
from tasks.common.runners import make_task_runner
from tasks.common.s3 import s3_client
from tasks.common.settings import load_config
from tasks.retention.runner import run_retention


@task(retries=2, retry_delay_seconds=5, cache_policy=NONE)
def plan_prefix_task(fn: Callable[[str], dict[str, Any]], prefix: str) -> dict[str, Any]:
    return fn(prefix)


def prefect_mapper(
    fn: Callable[[str], dict[str, Any]], prefixes: Sequence[str]
) -> list[dict[str, Any]]:
    """One Prefect task run per user prefix, run concurrently by the flow's task runner."""
    futures = plan_prefix_task.map(unmapped(fn), list(prefixes))
    return [f.result() for f in futures]


# COMPLIANCE_TASK_RUNNER picks threads or a Dask cluster for the per-prefix work.
@job_flow("log-retention", task_runner=make_task_runner())
def log_retention(
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    """Past-retention raw logs go only after a clean redacted copy exists; holds are kept."""
    app = load_config(config_path)
    client = s3_client(app.storage)
    users = [user] if user else None
    result = run_retention(app, client, users=users, dry_run=dry_run, mapper=prefect_mapper)
    if dry_run:
        show_plan(result["plan"])
    return {k: result[k] for k in ("job", "run_id", "status", "bundle", "counts")}


def show_plan(plan: list[dict[str, Any]]) -> None:
    """A dry run publishes nothing, so the plan goes to the run's log and a table artifact."""
    logger = get_run_logger()
    for row in plan:
        if row["decision"] == "delete":
            logger.info("would delete %s", row["key"])
        elif row["reason"] != "young":
            logger.info("would keep %s: %s", row["key"], row["reason"])
    create_table_artifact(
        table=[r for r in plan if r["reason"] != "young"][:1000] or [{"decision": "nothing due"}],
        key="log-retention-plan",
        description="Dry run: what would be deleted, what is held and why",
    )
