"""`compliance roster import`: raw/org/roster.csv from the identity provider (SCIM 2.0 or CSV)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cli.common import emit_json, fail, get_config, one_line_errors


@click.group("roster")
def roster() -> None:
    """The roster of people (raw/org/roster.csv) that the access review checks against."""


@roster.command("import")
@click.option(
    "--scim",
    "scim_url",
    default=None,
    help="SCIM 2.0 base URL (…/scim/v2); /Users is read page by page.",
)
@click.option(
    "--token-env", default=None, help="Environment variable holding the SCIM bearer token."
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="An IdP export (CSV) instead of SCIM.",
)
@click.option(
    "--map",
    "mapping",
    default="",
    help="CSV column mapping: user=Login,email=Mail,team=Dept,manager=ManagerEmail,status=State,aws_user=IamUser.",
)
@click.option(
    "--user-attr",
    type=click.Choice(["emailLocal", "userName"]),
    default=None,
    help="Roster user from the IdP user name: its part before '@' (SCIM default) or all of it (CSV default).",
)
@click.option(
    "--aws-user",
    default="user",
    show_default=True,
    help="SCIM: aws_user column from 'user' (same name), 'none', or a dotted attribute path.",
)
@click.option(
    "--to",
    "to",
    default=None,
    help="s3://BUCKET/raw/ (writes raw/org/roster.csv; default: $COMPLIANCE_DATA_BUCKET).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the CSV to this file instead of S3.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_context
@one_line_errors
def import_roster(
    ctx, scim_url, token_env, csv_file, mapping, user_attr, aws_user, to, out_file, as_json
) -> None:
    """Import the roster: user, email, team, manager, status (active | inactive | terminated), aws_user."""
    from tasks.collect.roster import RosterError, from_csv, from_scim, parse_map, scim_pages

    if bool(scim_url) == bool(csv_file):
        fail("give exactly one of --scim URL (with --token-env VAR) or --csv FILE")
    try:
        if scim_url:
            if not token_env or not os.environ.get(token_env):
                fail(f"--token-env: variable {token_env or '(none)'} is not set")
            result = from_scim(
                scim_pages(scim_url, os.environ[token_env]), user_attr or "emailLocal", aws_user
            )
            source = scim_url
        else:
            text = Path(csv_file).read_text(encoding="utf-8-sig")
            result = from_csv(text, parse_map(mapping), csv_file, user_attr or "userName")
            source = csv_file
    except RosterError as exc:
        fail(str(exc))
    except UnicodeDecodeError:
        fail(f"{csv_file}: not UTF-8")
    for line in result.notes:
        click.echo(f"note: {line}", err=True)
    if not result.rows:
        fail(f"{source}: no usable user; roster not written")
    data = result.csv_bytes()
    if out_file:
        Path(out_file).write_bytes(data)
        written = out_file
    else:
        from tasks.collect.upload import put_bytes
        from tasks.common.layout import ROSTER_KEY
        from tasks.common.s3 import S3Uri, s3_client

        config = get_config(ctx)
        to = to or (
            f"s3://{config.storage.data_bucket}/raw/" if config.storage.data_bucket else None
        )
        if not to:
            fail(
                "no destination: give --to s3://BUCKET/raw/, --out FILE, or set COMPLIANCE_DATA_BUCKET"
            )
        target = S3Uri.parse(to)
        base = target.key if not target.key or target.key.endswith("/") else target.key + "/"
        key = (
            base + ROSTER_KEY.removeprefix("raw/")
            if base.endswith("raw/")
            else base + "org/roster.csv"
        )
        put_bytes(s3_client(config.storage), target.bucket, key, data)
        written = f"s3://{target.bucket}/{key}"
    summary = {**result.counts(), "written": written}
    if as_json:
        emit_json(summary)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
