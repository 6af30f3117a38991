"""`compliance access-review …`: reviewer decisions on the latest access-review campaign."""

from __future__ import annotations

import click

from cli.common import emit_json, get_config, one_line_errors


@click.group("access-review")
def access_review() -> None:
    """Access-review campaigns: record reviewers' certify/revoke decisions."""


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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
def decide(decisions: str, campaign: str | None, apply: bool, dry_run: bool, as_json: bool) -> None:
    """Record decisions as a signed bundle linked to the campaign; self-review is rejected."""
    from tasks.access.config import parse_access_config
    from tasks.access.decide import run_decide

    app = get_config()
    cfg = parse_access_config(app.section("access"), app.source or "config")
    result = run_decide(
        decisions, app.storage, cfg, campaign=campaign, apply=apply, dry_run=dry_run
    )
    if as_json:
        emit_json(
            {k: result[k] for k in ("job", "run_id", "status", "bundle", "counts", "summary")}
        )
        return
    s = result["summary"]
    click.echo(
        f"{result['job']}: {result['status']}  accepted {s['decisions_accepted']}, rejected {s['decisions_rejected']}, undecided {s['undecided']}"
    )
    for r in result["remediation"]:
        target = r.get("key_id") and f"{r['aws_user']}/{r['key_id']}" or r.get("resource", "")
        click.echo(f"  revoke: {r['action']} {target} [{r['result']}]")
    click.echo(f"bundle: {result['bundle'] or '(dry run, not published)'}")
