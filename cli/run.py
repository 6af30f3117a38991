"""`compliance run <job>`: run a job now, in-process or through a Prefect server's deployment."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from cli.common import emit_json, fail, first_line, quiet_prefect
from flows.registry import JOBS, get_deployable, get_job
from tasks.common.errors import ComplianceError, ConfigError

NEEDS_REDACTION_KEY = {"telemetry-quality", "log-retention", "audit-trail"}


def worker_path(path: str | None) -> str | None:
    """s3:// URIs as given; local paths absolute (a worker runs in its own directory)."""
    if path is None or path.startswith("s3://"):
        return path
    return str(Path(path).resolve())


def check_period(job: str, since: str | None, until: str | None) -> None:
    """The job's own period parser, so a bad date fails here and not inside the flow."""
    from tasks.common.contract import hook, job_module
    from tasks.common.periods import resolve_period

    (hook(job_module(get_job(job).module), "period") or resolve_period)(since, until)


def check_scope(job: str, team: str | None, user: str | None) -> None:
    """A job that cannot be scoped (readiness) refuses --team/--user before a flow starts."""
    from tasks.common.contract import hook, job_module

    if check := hook(job_module(get_job(job).module), "check_scope"):
        check(team, user)


def check_name(option: str, value: str | None) -> None:
    """A team or user name becomes part of object keys: one clean path segment."""
    from tasks.common.safepath import key_problem

    if value is None:
        return
    problem = key_problem(value) or ("'/' in name" if "/" in value else None)
    if problem:
        raise ConfigError(f"{option}: {value[:80]!r} is not a valid name ({problem})")


def check_config_for(job: str, config: str | None, dry_run: bool) -> None:
    """What this job's flow would stop on: storage (buckets, signing key), its own config
    sections, notifications, the redaction key. The first problem, with a count of the rest."""
    from cli.config import check_config

    app, problems = check_config(config)
    if app is not None:  # the file was read: only what this job uses matters here
        wanted = ("storage", "notifications", *get_job(job).sections)  # the job's Config
        problems = [p for p in problems if any(f": {w}." in p or f": {w}:" in p for w in wanted)]
    if dry_run:  # a dry run signs nothing
        problems = [p for p in problems if ": storage.signing_key:" not in p]
    if problems:
        more = f" (and {len(problems) - 1} more; see `compliance config check`)"
        raise ConfigError(problems[0] + (more if len(problems) > 1 else ""))
    if job in NEEDS_REDACTION_KEY:
        from tasks.retention.config import parse_redaction, redaction_key

        redaction_key(parse_redaction(app.section("redaction"), app.source or "config"))


def preflight(
    job: str,
    since: str | None,
    until: str | None,
    team: str | None,
    user: str | None,
    dry_run: bool,
    config: str | None,
    via_server: bool,
) -> None:
    """Every argument and setting checked before a flow (or Prefect's server) starts."""
    check_period(job, since, until)
    check_name("--team", team)
    check_name("--user", user)
    check_scope(job, team, user)
    if not via_server:  # a deployment's worker reads its own configuration
        check_config_for(job, config, dry_run)


def job_parameters(
    since: str | None,
    until: str | None,
    team: str | None,
    user: str | None,
    dry_run: bool,
    config: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "team": team,
        "user": user,
        "dry_run": dry_run,
    }
    if config:
        params["config_path"] = worker_path(config)
    return {k: v for k, v in params.items() if v not in (None, False)}


def run_local(slug: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run the flow in this process (Prefect's embedded server unless PREFECT_API_URL is set)."""
    flow = get_job(slug).load_flow()
    quiet_prefect()
    return flow(**params)


def deployment_name(slug: str, deployment: str | None = None) -> str:
    """ "<flow name>/<deployment>", from the flow object itself (jobs and on-demand flows)."""
    return f"{get_deployable(slug).load_flow().name}/{deployment or slug}"


def run_via_server(
    slug: str, params: dict[str, Any], deployment: str | None, timeout: float
) -> dict[str, Any]:
    """Trigger the flow's deployment on the configured Prefect server and wait for it."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    name = deployment_name(slug, deployment)
    quiet_prefect()
    try:
        flow_run = run_deployment(name=name, parameters=params, timeout=timeout, as_subflow=False)
    except ObjectNotFound:  # its message is "None"
        raise RuntimeError(
            f"no deployment '{name}' on the Prefect server (deploy deployments/prefect.yaml "
            "or run `compliance serve`)"
        ) from None
    state = flow_run.state
    if state is None or not state.is_completed():
        raise RuntimeError(
            f"flow run {flow_run.id} ended {state.type.value if state else 'unknown'}"
        )
    try:
        return state.result()
    except Exception as exc:  # result stored where this machine cannot read it
        return result_from_bundle(slug, flow_run.id, exc)


def result_from_bundle(slug: str, flow_run_id: Any, cause: Exception) -> dict[str, Any]:
    """The run's result rebuilt from its bundle: the link artifact, then the envelope."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from tasks.common.s3 import S3Uri, s3_client
    from tasks.common.settings import load_config
    from tasks.common.storage import get_bytes
    from tasks.evidence.dsse import parse_envelope

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    # finish_job's link artifact (key "<job>-bundle") is markdown: [text](s3://…/attestation.dsse.json)
    links = sorted(
        {
            m.group(1)
            for a in artifacts
            if (a.key or "").endswith("-bundle") and isinstance(a.data, str)
            for m in [re.search(r"\((s3://[^)\s]+)\)", a.data)]
            if m
        }
    )
    if len(links) != 1:
        raise RuntimeError(
            f"flow run {flow_run_id} completed, but its result is unreadable "
            f"({type(cause).__name__}) and it left {len(links)} bundle links"
        )
    uri = S3Uri.parse(links[0])
    envelope = get_bytes(s3_client(load_config().storage), uri.bucket, uri.key)
    predicate = parse_envelope(envelope).predicate
    result = {k: predicate.get(k) for k in ("job", "run_id", "status", "counts")}
    return result | {"job": result["job"] or slug, "bundle": links[0]}


def bundles_of(result: dict[str, Any]) -> list[str]:
    """Every bundle a run published, oldest first: a multi-day run (audit-trail: one per
    day) keeps each day's result under `runs`; `bundle` is the last of them."""
    runs = result.get("runs")
    if runs:
        return [r["bundle"] for r in runs if r.get("bundle")]
    return [result["bundle"]] if result.get("bundle") else []


def _error(job: str, message: str, as_json: bool, code: int) -> None:
    """One line on stderr (or one JSON object on stdout), the traceback only with --debug."""
    from cli.common import debug_enabled

    if debug_enabled():
        import traceback

        traceback.print_exc()
    if as_json:
        emit_json(
            {
                "job": job,
                "run_id": None,
                "status": "error",
                "bundle": None,
                "bundles": [],
                "counts": {},
                "error": message,
            }
        )
        sys.exit(code)
    fail(f"{job}: {message}", code=code)


@click.command("run")
@click.argument("job", type=click.Choice(list(JOBS)))
@click.option("--since", help="Period start (YYYY-MM-DD or ISO 8601, UTC). Default: the job's own.")
@click.option("--until", help="Period end, exclusive (YYYY-MM-DD or ISO 8601, UTC).")
@click.option("--team", help="Limit the run to one team (from the roster).")
@click.option("--user", help="Limit the run to one user.")
@click.option(
    "--dry-run", is_flag=True, help="Compute and report, but change nothing and publish no bundle."
)
@click.option(
    "--via-server", is_flag=True, help="Run through the job's deployment on the Prefect server."
)
@click.option("--deployment", help="Deployment name with --via-server (default: the job slug).")
@click.option(
    "--timeout",
    type=float,
    default=3600,
    show_default=True,
    help="Seconds to wait with --via-server.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"job","run_id","status","bundle","bundles","counts"} (bundle: the last).',
)
@click.pass_context
def run(
    ctx: click.Context,
    job: str,
    since,
    until,
    team,
    user,
    dry_run,
    via_server,
    deployment,
    timeout,
    as_json,
) -> None:
    """Run a job now and print its status. Exit 0 when the run completed, whatever its status."""
    config = ctx.find_root().params.get("config")
    params = job_parameters(since, until, team, user, dry_run, config)
    try:
        preflight(job, since, until, team, user, dry_run, config, via_server)
    except ComplianceError as exc:
        _error(job, first_line(exc), as_json, code=2)
    try:
        result = (
            run_via_server(job, params, deployment, timeout)
            if via_server
            else run_local(job, params)
        )
    except Exception as exc:  # the run could not complete: one line, non-zero exit
        _error(job, first_line(exc), as_json, code=1)
    bundles = bundles_of(result)
    if as_json:
        out = {k: result.get(k) for k in ("job", "run_id", "status", "bundle", "counts")}
        emit_json(out | {"bundles": bundles})
        return
    counts = result.get("counts") or {}
    sev = ", ".join(
        f"{k} {counts[k]}" for k in ("critical", "high", "medium", "low") if counts.get(k)
    )
    click.echo(
        f"{job}: {result['status']} ({counts.get('findings', 0)} findings{'; ' + sev if sev else ''})"
    )
    if len(bundles) > 1:
        click.echo(f"bundles ({len(bundles)}, one per day):")
        for uri in bundles:
            click.echo(f"  {uri}")
    else:
        click.echo(f"bundle: {result.get('bundle') or '(dry run: none published)'}")
