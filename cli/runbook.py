"""`compliance runbook list|drill|check`: the runbook catalogue and its drills as evidence."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from cli.common import emit_json, get_config, one_line_errors
from tasks.common.errors import InputError
from tasks.evidence.cli_support import aws_errors, reports_bucket, signer_from


@click.group("runbook")
def runbook() -> None:
    """Incident runbooks (runbooks/<id>.md) and their drills."""


@runbook.command("list")
@click.option("--json", "as_json", is_flag=True, help='Print {"runbooks": [...]}.')
@one_line_errors
def runbook_list(as_json: bool) -> None:
    """List the runbooks: id, owner, title and the checks they answer."""
    from tasks.runbooks.catalog import load_runbooks, summary

    rows = summary(load_runbooks())
    if as_json:
        emit_json({"runbooks": rows})
        return
    for r in rows:
        click.echo(f"{r['id']:<24} {r['owner']:<20} {r['title']}  [{', '.join(r['triggers'])}]")


@runbook.command("drill")
@click.argument("runbook_id")
@click.option("--by", "by", required=True, help="Who ran the drill (a roster user).")
@click.option("--result", type=click.Choice(["pass", "fail"]), required=True, help="Outcome.")
@click.option("--notes", default=None, help="What happened (redacted before it is signed).")
@click.option("--json", "as_json", is_flag=True, help='Print {"runbook", "result", "bundle"}.')
@one_line_errors
@aws_errors
def runbook_drill(runbook_id: str, by: str, result: str, notes: str | None, as_json: bool) -> None:
    """Record a drill of RUNBOOK_ID as a signed evidence bundle (reports/runbook-drill/…)."""
    from tasks.common.s3 import s3_client
    from tasks.runbooks.catalog import load_runbooks
    from tasks.runbooks.drills import publish_drill

    books = load_runbooks()
    if runbook_id not in books:
        raise InputError(f"{runbook_id}: no such runbook (known: {', '.join(books)})")
    from tasks.evidence.trust import job_trust

    settings = get_config().storage
    client, bucket = s3_client(settings), reports_bucket(settings)
    bundle = publish_drill(
        client, bucket, signer_from(settings), books[runbook_id], by, result, notes,
        settings.retention_days, trust=job_trust(client, bucket, settings),
    )  # fmt: skip
    out = {"runbook": runbook_id, "result": result, "bundle": bundle.envelope_uri}
    if as_json:
        emit_json(out)
    else:
        click.echo(bundle.envelope_uri)


@runbook.command("check")
@click.option("--max-age-days", default=90, show_default=True, type=click.IntRange(1, 3650),
              help="A runbook needs a passing drill this recent.")  # fmt: skip
@click.option("--public-key", "public_keys", multiple=True,
              type=click.Path(dir_okay=False, exists=True),
              help="Trusted public key PEM (default: our signing key, else keys/).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help='Print {"findings": [...], "problems"}.')
@one_line_errors
@aws_errors
def runbook_check(max_age_days: int, public_keys: tuple[str, ...], as_json: bool) -> None:
    """List runbooks without a verified passing drill in the last --max-age-days."""
    from tasks.access.previous import trusted_keys
    from tasks.common.s3 import s3_client
    from tasks.runbooks.catalog import load_runbooks
    from tasks.runbooks.drills import load_drills, undrilled

    settings = get_config().storage
    keys = trusted_keys(settings, list(public_keys))  # out of band, else our own key
    drills, problems = load_drills(s3_client(settings), reports_bucket(settings), keys)
    findings = undrilled(load_runbooks(), drills, datetime.now(UTC), max_age_days)
    if as_json:
        emit_json({"findings": [f.model_dump(mode="json") for f in findings], "problems": problems})
        return
    for line in problems:
        click.echo(f"warning: {line}", err=True)
    for f in findings:
        click.echo(f"{f.resource}: {f.message}")
    if not findings:
        click.echo("every runbook has a passing drill")
