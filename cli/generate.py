"""`compliance telemetry generate`: write a synthetic Roo Code fleet and its ground truth."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import click

from cli.common import emit_json, fail, get_config, one_line_errors


def _summary(truth: dict, out: str, seconds: float) -> dict:
    kinds: dict[str, int] = {}
    for inc in truth["incidents"]:
        kinds[inc["kind"]] = kinds.get(inc["kind"], 0) + 1
    return {
        "out": out,
        "seed": truth["seed"],
        "start": truth["start"],
        "days": truth["days"],
        "users": sum(1 for u in truth["users"] if u["has_data"]),
        "roster": len(truth["users"]),
        "clean": truth["clean"],
        "tasks": truth["stats"]["tasks"],
        "events": truth["stats"]["events"],
        "files": truth["stats"]["files"],
        "bytes": truth["stats"]["bytes"],
        "incidents": len(truth["incidents"]),
        "incident_kinds": dict(sorted(kinds.items())),
        # counts only: the values themselves stay in ground_truth.json
        "secrets": len(truth["secrets"]),
        "decoys": len(truth["decoys"]),
        "malformed": len(truth["malformed"]),
        "mutating_actions": truth["mutating_actions"]["count"],
        "seconds": round(seconds, 2),
    }


@click.command("generate")
@click.option(
    "--users",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="Fleet users with data.",
)
@click.option(
    "--days", type=click.IntRange(1, 366), default=7, show_default=True, help="Days of activity."
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed; same seed, same bytes."
)
@click.option(
    "--out",
    required=True,
    help="A local folder, or s3://BUCKET/ (or s3://BUCKET/raw/) for the data bucket root.",
)
@click.option(
    "--start",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="First day (UTC, YYYY-MM-DD). Default: today minus --days.",
)
@click.option(
    "--clean",
    is_flag=True,
    help="Plant no incidents, secrets or malformed records (false-alarm tests).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object summarising the run.")
@one_line_errors
def generate(
    users: int, days: int, seed: int, out: str, start: datetime | None, clean: bool, as_json: bool
) -> None:
    """Generate USERS x DAYS of Roo Code task folders, telemetry, settings and a roster.

    Writes the data-bucket layout under --out plus ground_truth.json (planted incidents,
    secrets, decoys, malformed records, mutating actions) for scoring the jobs.
    """
    from tasks.common.s3 import S3Uri, is_s3, s3_client
    from tasks.telemetry.generator import generate_fleet

    first: date = start.date() if start else datetime.now(UTC).date() - timedelta(days=days)
    client = None
    if is_s3(out):
        try:
            S3Uri.parse(out)
        except ValueError as exc:
            fail(str(exc))
        client = s3_client(get_config().storage)
    began = time.perf_counter()
    truth = generate_fleet(out, users, days, seed, start=first, clean=clean, s3_client=client)
    summary = _summary(truth, out, time.perf_counter() - began)
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"wrote {summary['users']} users x {days} days from {summary['start']} to {out}: "
        f"{summary['tasks']} tasks, {summary['events']} events, {summary['files']} files, "
        f"{summary['bytes'] / 1e6:.1f} MB in {summary['seconds']} s"
    )
    click.echo(
        f"planted {summary['incidents']} incidents, {summary['secrets']} secret occurrences, "
        f"{summary['decoys']} decoys, {summary['malformed']} malformed records; "
        f"{summary['mutating_actions']} mutating actions; ground truth: ground_truth.json"
    )
