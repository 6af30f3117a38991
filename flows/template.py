"""The one flow every scheduled job runs (tasks/common/contract.py `run`: preamble, then
collect → evaluate → write → publish), with each step a Prefect task.

Collect is retried and never persisted (raw inputs stay out of Prefect's result store);
a chunked collect maps its chunks over the flow's task runner (threads or Dask). The
steps take the job module's name, not the module: a Dask worker imports it itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE

from flows.common import job_flow
from tasks.common.contract import JobResult, Scope, Steps, job_module, run
from tasks.common.models import Period
from tasks.common.settings import StorageSettings, load_config

if TYPE_CHECKING:
    from flows.registry import Job


def _retry_delay() -> float:
    """COMPLIANCE_RETRY_DELAY_SECONDS (default 5): the wait before each of a step's two
    retries, read when the flows are imported; not a number is one line."""
    raw = os.environ.get("COMPLIANCE_RETRY_DELAY_SECONDS", "5")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(
            f"COMPLIANCE_RETRY_DELAY_SECONDS={raw!r}: not a number of seconds"
        ) from None
    if not 0 <= value <= 3600:
        raise SystemExit(f"COMPLIANCE_RETRY_DELAY_SECONDS={raw!r}: must be 0 to 3600")
    return value


RETRIED = {"retries": 2, "retry_delay_seconds": _retry_delay(), "cache_policy": NO_CACHE,
           "persist_result": False}  # fmt: skip


@task(**RETRIED)
def collect(module: str, settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> Any:
    return job_module(module).collect(settings, cfg, period, scope)


@task(**RETRIED)
def plan(module: str, settings: StorageSettings, cfg: Any, period: Period, scope: Scope) -> Any:
    return job_module(module).plan(settings, cfg, period, scope)


@task(**RETRIED)
def collect_chunk(
    module: str, settings: StorageSettings, cfg: Any, period: Period, scope: Scope, unit: Any
) -> Any:
    return job_module(module).collect_chunk(settings, cfg, period, scope, unit)


@task(**RETRIED)
def merge(
    module: str, settings: StorageSettings, cfg: Any, period: Period, scope: Scope,
    planned: Any, chunks: list[Any],
) -> Any:  # fmt: skip
    return job_module(module).merge(settings, cfg, period, scope, planned, chunks)


@task(cache_policy=NO_CACHE, persist_result=False)
def evaluate(module: str, inputs: Any, cfg: Any) -> JobResult:
    return job_module(module).evaluate(inputs, cfg)


@task(**RETRIED)
def write(
    module: str, settings: StorageSettings, cfg: Any, inputs: Any, result: JobResult, scope: Scope
) -> None:
    job_module(module).write(settings, cfg, inputs, result, scope)


class PrefectSteps(Steps):
    """Each step a Prefect task run named after the job (`telemetry_quality_collect_chunk`
    in the UI); the chunks mapped over the flow's task runner."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def _task(self, step: Any) -> Any:
        return step.with_options(name=f"{self.name}_{step.name}")

    def collect(self, module, settings, cfg, period, scope):  # type: ignore[override]
        return self._task(collect)(module, settings, cfg, period, scope)

    def plan(self, module, settings, cfg, period, scope):  # type: ignore[override]
        return self._task(plan)(module, settings, cfg, period, scope)

    def chunks(self, module, settings, cfg, period, scope, units):  # type: ignore[override]
        futures = self._task(collect_chunk).map(
            unmapped(module), unmapped(settings), unmapped(cfg), unmapped(period),
            unmapped(scope), units,
        )  # fmt: skip
        return [f.result() for f in futures]

    def merge(self, module, settings, cfg, period, scope, planned, chunks):  # type: ignore[override]
        return self._task(merge)(module, settings, cfg, period, scope, planned, chunks)

    def evaluate(self, module, inputs, cfg):  # type: ignore[override]
        return self._task(evaluate)(module, inputs, cfg)

    def write(self, module, settings, cfg, inputs, result, scope):  # type: ignore[override]
        self._task(write)(module, settings, cfg, inputs, result, scope)


_FLOWS: dict[str, tuple[Job, Any]] = {}


def flow_for(job: Job) -> Any:
    """The job's Prefect flow (job_flow: named by its slug, result persisted, a notice on
    failure); its entrypoint is flows.jobs:<slug with underscores>."""
    if job.slug in _FLOWS and _FLOWS[job.slug][0] == job:
        return _FLOWS[job.slug][1]

    def body(
        since: str | None = None,
        until: str | None = None,
        team: str | None = None,
        user: str | None = None,
        dry_run: bool = False,
        config_path: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """since/until: the period (YYYY-MM-DD, UTC); team/user: scope; dry_run: publish
        nothing; config_path: compliance.yaml on the worker; options: the job's own
        (cost-budget: {"force": true} uses days the quality gate refused)."""
        return run(job, load_config(config_path), since=since, until=until, team=team,
                   user=user, dry_run=dry_run, options=options, steps=PrefectSteps(job.flow_name))  # fmt: skip

    body.__name__ = body.__qualname__ = job.flow_name
    body.__module__ = "flows.jobs"
    runner: dict[str, Any] = {}
    if job.spread:  # COMPLIANCE_TASK_RUNNER picks threads or a Dask cluster for the chunks
        from tasks.common.runners import make_task_runner

        runner["task_runner"] = make_task_runner()
    made = job_flow(job.slug, **runner)(body)
    _FLOWS[job.slug] = (job, made)
    return made
