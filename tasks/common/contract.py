"""The job contract: what every job module provides and the order the template runs it in.

A job is one module (`tasks/<job>/job.py`) and one registry entry (flows/registry.py):

- `collect(settings, cfg, period, scope) -> Inputs`: the I/O, retried, never persisted;
  or, for a job that reads in chunks, `plan(...) -> (plan, units)`,
  `collect_chunk(settings, cfg, period, scope, unit)` (mapped over the task runner) and
  `merge(settings, cfg, period, scope, plan, chunks) -> Inputs`;
- `evaluate(inputs, cfg) -> JobResult`: pure (findings, summary, files, charts, tables);
- optional: `period(since, until) -> Period` (default: calendar days),
  `units(period) -> [Period]` (one bundle each: audit-trail's days),
  `check(settings, cfg)` (up-front checks beyond the models: suites, redaction key),
  `check_scope(team, user)` (refuses a --team/--user the job cannot honour),
  `write(settings, cfg, inputs, result, scope)` (data written after evaluate, not on a dry
  run), `after_publish(settings, cfg, inputs, result, published, scope)`.

`cfg` is the job's Config: one attribute per config section it reads (`cfg.quality`,
`cfg.redaction`), each validated by its section's own parser.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from tasks.common.models import Finding, Period, RunStatus
from tasks.common.settings import AppConfig, validate_section
from tasks.common.storage import Body
from tasks.reports import Chart, Table


@dataclass
class JobResult:
    """What `evaluate` returns and `finish_job` publishes."""

    findings: list[Finding]
    summary: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)  # digests for the statement
    # beside report.json/html/csv; a large file as a SpooledFile (streamed, never held)
    files: dict[str, Body] = field(default_factory=dict)
    charts: Sequence[Chart] = ()
    tables: Sequence[Table] = ()
    status: RunStatus | str | None = None  # default: from the findings
    counts_extra: dict[str, int] = field(default_factory=dict)
    period: Period | None = None  # the bundle's period when not the run's (log-retention)
    state: Any = None  # for the job's own write/after_publish steps; never published


@dataclass(frozen=True)
class Scope:
    """The run's parameters besides the period and config."""

    team: str | None = None
    user: str | None = None
    dry_run: bool = False
    run_id: str = ""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    options: dict[str, Any] = field(default_factory=dict)  # a job's own (cost-budget: force)
    notifications: Any = None  # the run's NotificationsConfig, read once in the preamble


@dataclass(frozen=True)
class Section:
    """One section of compliance.yaml: its model, its parser (checks a model cannot
    express), and the README's line about it."""

    name: str
    model: str  # "module:Model"
    parser: str | None  # "module:function(raw, source) -> model"; None: the model alone
    intro: str

    def load_model(self) -> type[BaseModel]:
        return _attr(self.model)

    def parse(self, raw: dict[str, Any] | None, source: str) -> Any:
        if self.parser is None:
            return validate_section(self.load_model(), self.name, raw, source)
        return _attr(self.parser)(raw, source)


def _attr(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def config_model(slug: str, sections: Sequence[Section]) -> type[BaseModel]:
    """The job's Config: one field per section, each of that section's model."""
    fields: dict[str, Any] = {s.name: (s.load_model(), ...) for s in sections}
    name = "".join(p.title() for p in slug.split("-")) + "Config"
    return create_model(name, __config__=ConfigDict(arbitrary_types_allowed=True), **fields)


class JobConfig(BaseModel):
    """A job's validated sections as attributes (`cfg.quality`); one importable class, so
    the config pickles to Dask workers (config_model's classes are built at run time)."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True, frozen=True)


def load_job_config(sections: Sequence[Section], app: AppConfig) -> JobConfig:
    """Every section the job reads, through its own parser (one-line ConfigError)."""
    source = app.source or "environment"
    return JobConfig(**{s.name: s.parse(app.section(s.name), source) for s in sections})


def job_module(ref: str | ModuleType) -> ModuleType:
    return ref if isinstance(ref, ModuleType) else importlib.import_module(ref)


def hook(module: ModuleType, name: str) -> Callable[..., Any] | None:
    return getattr(module, name, None)


def chunked(module: ModuleType) -> bool:
    return all(hook(module, n) for n in ("plan", "collect_chunk", "merge"))


class Steps:
    """How each step runs. This one: in this process, chunks on a thread pool (tests,
    benchmarks, `run_retention`); flows/template.py runs each as a Prefect task."""

    def __init__(self, workers: int = 4) -> None:
        self.workers = workers

    def collect(self, module: str, settings: Any, cfg: Any, period: Period, scope: Scope) -> Any:
        return job_module(module).collect(settings, cfg, period, scope)

    def plan(self, module: str, settings: Any, cfg: Any, period: Period, scope: Scope) -> Any:
        return job_module(module).plan(settings, cfg, period, scope)

    def chunks(self, module: str, settings: Any, cfg: Any, period: Period, scope: Scope,
               units: list[Any]) -> list[Any]:  # fmt: skip
        from concurrent.futures import ThreadPoolExecutor

        one = job_module(module).collect_chunk
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda u: one(settings, cfg, period, scope, u), units))

    def merge(self, module: str, settings: Any, cfg: Any, period: Period, scope: Scope,
              planned: Any, chunks: list[Any]) -> Any:  # fmt: skip
        return job_module(module).merge(settings, cfg, period, scope, planned, chunks)

    def evaluate(self, module: str, inputs: Any, cfg: Any) -> JobResult:
        return job_module(module).evaluate(inputs, cfg)

    def write(self, module: str, settings: Any, cfg: Any, inputs: Any, result: JobResult,
              scope: Scope) -> None:  # fmt: skip
        job_module(module).write(settings, cfg, inputs, result, scope)


def gather(steps: Steps, module: ModuleType, settings: Any, cfg: Any, period: Period,
           scope: Scope) -> Any:  # fmt: skip
    """The job's inputs: one collect, or plan → chunks → merge."""
    name = module.__name__
    if not chunked(module):
        return steps.collect(name, settings, cfg, period, scope)
    planned, units = steps.plan(name, settings, cfg, period, scope)
    done = steps.chunks(name, settings, cfg, period, scope, units)
    return steps.merge(name, settings, cfg, period, scope, planned, done)


def run_notifications(app: AppConfig) -> Any:
    """Where this run's results and alerts go; a broken section is logged and the run
    still publishes (`config check` names the problem)."""
    import logging

    from tasks.common.errors import ComplianceError
    from tasks.common.notify import NotificationsConfig, notifications_from

    try:
        return notifications_from(app.sections, app.source or "environment")
    except ComplianceError as exc:
        logging.getLogger(__name__).warning(
            "notifications not loaded, alerts not routed: %s", str(exc).splitlines()[0]
        )
        return NotificationsConfig(routes=[], events=False)


STATUS_RANK = {"pass": 0, "warn": 1, "fail": 2}


def combine(slug: str, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several bundles (one per unit): the worst status, the last bundle, summed counts,
    and every unit's result under `runs`."""
    if not results:
        return {"job": slug, "run_id": None, "status": "pass", "bundle": None, "counts": {}, "runs": []}  # fmt: skip
    if len(results) == 1:
        return results[0]
    counts: dict[str, int] = {}
    for r in results:
        for k, v in r["counts"].items():
            counts[k] = counts.get(k, 0) + v
    last = results[-1]
    worst = max(results, key=lambda r: STATUS_RANK.get(r["status"], 2))["status"]
    return {"job": last["job"], "run_id": last["run_id"], "status": worst,
            "bundle": last["bundle"], "counts": counts, "runs": list(results)}  # fmt: skip


def run(
    job: Any,
    app: AppConfig,
    *,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    user: str | None = None,
    dry_run: bool = False,
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
    steps: Steps | None = None,
) -> dict[str, Any]:
    """Every job's run, once: its config validated and storage checked before any work,
    its period, then per unit (audit-trail: per day) collect → evaluate → write → publish.
    `job`: a registry entry (slug, module, sections, requires)."""
    from tasks.common.ids import new_run_id
    from tasks.common.jobrun import finish_job
    from tasks.common.periods import resolve_period

    steps = steps or Steps()
    module = job_module(job.module)
    if check_scope := hook(module, "check_scope"):  # e.g. readiness grades the organisation
        check_scope(team, user)
    cfg = load_job_config(job.sections_of(), app)
    if job.requires:
        app.storage.require(*job.requires)
    period = (hook(module, "period") or resolve_period)(since, until)
    if check := hook(module, "check"):
        check(app.storage, cfg)
    notifications = run_notifications(app)  # this run's config, not read again later
    now = now or datetime.now(UTC)
    units = hook(module, "units")
    results = []
    for unit in units(period) if units else [period]:
        scope = Scope(team, user, dry_run, new_run_id(now), now, dict(options or {}), notifications)
        inputs = gather(steps, module, app.storage, cfg, unit, scope)
        result = steps.evaluate(module.__name__, inputs, cfg)
        if not dry_run and hook(module, "write"):
            steps.write(module.__name__, app.storage, cfg, inputs, result, scope)
        published = finish_job(
            job.slug, unit, result, app.storage,
            dry_run=dry_run, run_id=scope.run_id, notifications=notifications,
        )  # fmt: skip
        if after := hook(module, "after_publish"):
            after(app.storage, cfg, inputs, result, published, scope)
        results.append(published)
    return combine(job.slug, results) if units else results[0]
