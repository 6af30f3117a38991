"""`compliance access-review …`: reviewer decisions on the latest access-review campaign."""

from __future__ import annotations

from typing import Any

import click

from cli.common import emit_json, fail, get_config, one_line_errors

DECISIONS_FLOW = "access-review-decisions"  # its slug in flows.registry.ON_DEMAND


@click.group("access-review")
def access_review() -> None:
    """Access-review campaigns: record reviewers' certify/revoke decisions."""


def decide_via_server(
    decisions: str,
    campaign: str | None,
    apply: bool,
    dry_run: bool,
    config: str | None,
    timeout: float,
) -> dict[str, Any]:
    """Run the access-review-decisions deployment with these parameters and wait for it."""
    from cli.run import run_via_server, worker_path

    params: dict[str, Any] = {
        "decisions": worker_path(decisions),
        "campaign": worker_path(campaign),
        "apply": apply,
        "dry_run": dry_run,
        "config_path": worker_path(config),
    }
    params = {k: v for k, v in params.items() if v is not None}
    return run_via_server(DECISIONS_FLOW, params, None, timeout)


@access_review.command("decide")
@click.option(
    "--decisions",
    "decisions",
    required=True,
    help="CSV: item_id, reviewer, decision (certify|revoke), justification.",
)
@click.option(
    "--campaign",
    default=None,
    help="campaign.csv (path or s3:// URI). Default: the latest verified access-review bundle's.",
)
@click.option(
    "--apply",
    is_flag=True,
    help="Deactivate revoked IAM access keys (default: dry run, only listed).",
)
@click.option("--dry-run", is_flag=True, help="Do not publish the decisions bundle.")
@click.option(
    "--via-server",
    is_flag=True,
    help="Run the access-review-decisions deployment on the Prefect server (paths must be "
    "readable by its worker; s3:// URIs always are).",
)
@click.option(
    "--timeout",
    type=float,
    default=600,
    show_default=True,
    help="Seconds to wait with --via-server.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@one_line_errors
def decide(
    ctx: click.Context,
    decisions: str,
    campaign: str | None,
    apply: bool,
    dry_run: bool,
    via_server: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Record decisions as a signed bundle linked to the campaign; self-review is rejected."""
    if via_server:
        config = ctx.find_root().params.get("config")
        try:
            result = decide_via_server(decisions, campaign, apply, dry_run, config, timeout)
        except Exception as exc:  # the run could not complete: one line, non-zero exit
            from cli.run import first_line

            fail(f"{DECISIONS_FLOW}: {first_line(exc)}", code=1)
            return
    else:
        from tasks.access.config import parse_access_config
        from tasks.access.decide import run_decide

        app = get_config()
        cfg = parse_access_config(app.section("access"), app.source or "config")
        result = run_decide(
            decisions, app.storage, cfg, campaign=campaign, apply=apply, dry_run=dry_run
        )
    if as_json:
        keys = ("job", "run_id", "status", "bundle", "counts", "summary")
        emit_json({k: result.get(k) for k in keys})
        return
    s = result.get("summary")
    line = f"{result['job']}: {result['status']}"
    if s:  # absent when a server run's result was rebuilt from its bundle
        line += f"  accepted {s['decisions_accepted']}, rejected {s['decisions_rejected']}, undecided {s['undecided']}"
    click.echo(line)
    for r in result.get("remediation") or []:
        target = r.get("key_id") and f"{r['aws_user']}/{r['key_id']}" or r.get("resource", "")
        click.echo(f"  revoke: {r['action']} {target} [{r['result']}]")
    click.echo(f"bundle: {result['bundle'] or '(dry run, not published)'}")
