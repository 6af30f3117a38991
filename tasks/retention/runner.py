"""log-retention in this process, without Prefect (tests, benchmarks): the same steps
as the flow (tasks/retention/job.py), run by the job template's plain driver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tasks.common.contract import JobResult, Steps, run
from tasks.common.settings import AppConfig


class _KeepResult(Steps):
    """The plain steps, keeping what evaluate returned (callers read the figures)."""

    result: JobResult | None = None

    def evaluate(self, module: str, inputs: Any, cfg: Any) -> JobResult:
        self.result = super().evaluate(module, inputs, cfg)
        return self.result


def run_retention(
    config: AppConfig,
    client: Any = None,
    *,
    users: list[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    on_delete: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Resume unfinished journals, plan per prefix on a thread pool, delete, publish the
    manifest. `client`: an S3 client to use instead of one from the settings. Besides
    the run's result: the `summary` figures and the `plan` (key, decision, reason)."""
    from flows.registry import get_job
    from tasks.retention.config import parse_retention

    options = {"client": client, "users": users, "on_delete": on_delete}
    workers = parse_retention(config.section("retention"), config.source or "config").workers
    steps = _KeepResult(workers)
    out = run(get_job("log-retention"), config, dry_run=dry_run, now=now,
              options={k: v for k, v in options.items() if v is not None}, steps=steps)  # fmt: skip
    assert steps.result is not None
    return out | {"summary": steps.result.summary, "plan": steps.result.state}
