"""`compliance collect`: ship this machine's Roo Code data to raw/roo/<user>/ (endpoint agent)."""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from pathlib import Path

import click

from cli.common import emit_json, fail, get_config, one_line_errors


@click.command("collect")
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Home folder to read (default: yours).",
)
@click.option(
    "--user",
    default=None,
    help="Roster user the data belongs to (default: $COMPLIANCE_COLLECT_USER, then your login name).",
)
@click.option(
    "--to",
    "to",
    default=None,
    help="Destination, s3://BUCKET/raw/ (default: s3://$COMPLIANCE_DATA_BUCKET/raw/).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Last line: {"user","uploaded","unchanged","skipped","bytes","errors"}.',
)
@click.option("--dry-run", is_flag=True, help="List what would be sent; send nothing.")
@click.option(
    "--redact",
    is_flag=True,
    help="Run the redaction engine on every file before it leaves the machine.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Local state file (default: $XDG_STATE_HOME/compliance-collect/<user>.json).",
)
@click.option(
    "--workspace-root",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Also read project files of workspaces under this folder (e.g. /workspaces).",
)
@click.option(
    "--all-users",
    is_flag=True,
    help="Shared-host mode: collect every mapped home under --homes-root.",
)
@click.option(
    "--homes-root",
    type=click.Path(file_okay=False),
    default="/home",
    show_default=True,
    help="With --all-users: the folder holding the homes.",
)
@click.option(
    "--users-csv",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --all-users: CSV mapping unix_user to roster user.",
)
@click.option(
    "--print-schedule",
    type=click.Choice(["systemd", "launchd", "windows"]),
    default=None,
    help="Print an hourly schedule for this command and exit.",
)
@click.pass_context
@one_line_errors
def collect(
    ctx,
    home,
    user,
    to,
    as_json,
    dry_run,
    redact,
    state_file,
    workspace_root,
    all_users,
    homes_root,
    users_csv,
    print_schedule,
) -> None:
    """Find Roo Code's storage on this machine and ship it to the data bucket.

    Task folders go byte for byte to raw/roo/<user>/tasks/<taskId>/; MCP settings, custom
    modes, project .roo/mcp.json and .roomodes, and a settings snapshot read from the
    editor's state.vscdb go to raw/roo/<user>/settings/ with credentials redacted. Only
    what changed since the last run is sent. Never read: the editor's secret storage.
    """
    if print_schedule:
        click.echo(_schedule(print_schedule, ctx), nl=False)
        return
    from tasks.collect.ledger import default_path
    from tasks.collect.run import CollectError
    from tasks.collect.run import collect as run_collect
    from tasks.collect.scrub import rule_source_problem
    from tasks.common.s3 import S3Uri, s3_client
    from tasks.retention.config import parse_redaction, redaction_key

    config = get_config(ctx)
    to = to or (f"s3://{config.storage.data_bucket}/raw/" if config.storage.data_bucket else None)
    if not to:
        fail("no destination: give --to s3://BUCKET/raw/ or set COMPLIANCE_DATA_BUCKET")
    try:
        target = S3Uri.parse(to)
    except ValueError as exc:
        fail(str(exc))
    key = redaction_key(
        parse_redaction(config.section("redaction"), config.source or "config"), target.bucket
    )
    problem = rule_source_problem()
    if problem:
        fail(problem)
    client = s3_client(config.storage)
    roots = [Path(r) for r in workspace_root]
    if all_users:
        jobs, notes = _all_users(homes_root, users_csv)
    else:
        user = user or os.environ.get("COMPLIANCE_COLLECT_USER") or getpass.getuser()
        jobs, notes = [(user, Path(home) if home else Path.home())], []
    for line in notes:
        click.echo(f"note: {line}", err=True)
    totals = {"user": "(all)", "uploaded": 0, "unchanged": 0, "skipped": 0, "bytes": 0, "errors": 0}
    for name, h in jobs:
        ledger = Path(state_file) if state_file and not all_users else default_path(name)
        try:
            res = run_collect(
                h,
                name,
                target,
                client,
                ledger,
                key=key,
                dry_run=dry_run,
                redact=redact,
                workspace_roots=roots,
            )
        except CollectError as exc:
            fail(str(exc))
        for line in res.notes:
            click.echo(f"note: {line}", err=True)
        if dry_run and not as_json:
            for k in res.planned:
                click.echo(f"would send {k}")
        summary = res.summary()
        for k in ("uploaded", "unchanged", "skipped", "bytes", "errors"):
            totals[k] += summary[k]
        if as_json:
            emit_json(summary)
        else:
            click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
    if as_json and all_users:
        emit_json(totals)
    if totals["errors"]:
        sys.exit(1)


def _all_users(homes_root: str, users_csv: str | None):
    from tasks.collect.allusers import MappingError, homes, read_mapping

    if not users_csv:
        fail("--all-users needs --users-csv (unix_user,user)")
    try:
        mapping = read_mapping(Path(users_csv))
    except MappingError as exc:
        fail(str(exc))
    notes: list[str] = []
    return homes(Path(homes_root), mapping, notes), notes


def _schedule(kind: str, ctx: click.Context) -> str:
    from tasks.collect.schedule import render

    exe = shutil.which("compliance") or "compliance"
    argv = [exe, "collect", "--json"]
    for name in ("home", "user", "to", "state_file"):
        value = ctx.params.get(name)
        if value:
            argv += [{"state_file": "--state"}.get(name, f"--{name}"), str(value)]
    if ctx.params.get("redact"):
        argv.append("--redact")
    return render(kind, argv)
