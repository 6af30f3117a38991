"""`compliance audit search`: find actions in the verified daily ledgers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from cli.common import emit_json, fail, get_config, one_line_errors
from cli.evidence import trust_options
from tasks.audit.search import Query, search_bundles
from tasks.common.models import Period
from tasks.common.periods import period_days
from tasks.common.s3 import s3_client

DEFAULT_DAYS = 7


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--{name}: expected a date or an ISO 8601 time, got {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _target(m: dict) -> str:
    if m["kind"] == "mcp_call":
        return f"{m.get('mcp_server')}/{m.get('mcp_tool')}"
    if m["kind"] == "mode_switch":
        return f"-> {m.get('target_mode')}"
    return m.get("path") or m.get("command") or ""


@click.group("audit")
def audit() -> None:
    """The daily ledgers of mutating agent actions (audit-trail bundles)."""


@audit.command("search")
@click.option("--user", default=None, help="Only actions by this fleet user.")
@click.option(
    "--since", default=None, help=f"Start (date or ISO time, UTC); default {DEFAULT_DAYS} days ago."
)
@click.option("--until", default=None, help="End, exclusive (date or ISO time, UTC); default now.")
@click.option(
    "--path",
    "path_glob",
    default=None,
    help="Glob over written paths ('*' also crosses '/'), e.g. 'src/*.py'.",
)
@click.option("--command", "command_regex", default=None, help="Regex (RE2) over stored commands.")
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
def search(
    user: str | None,
    since: str | None,
    until: str | None,
    path_glob: str | None,
    command_regex: str | None,
    public_keys: tuple[str, ...],
    trusted_keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Print matching actions with the bundle each came from; every bundle is verified first,
    trusting only pinned keys (--trusted-key, --public-key, evidence.trusted_keys).

    Exits 1 when a bundle of the period failed verification (it is never read)."""
    from tasks.audit.bundles import EvidenceVerifier
    from tasks.evidence.trust import NoTrustAnchor, reader_anchors

    cfg = get_config()
    if not cfg.storage.reports_bucket:
        fail("COMPLIANCE_REPORTS_BUCKET (storage.reports_bucket) is not set")
    end = _moment(until, "until") or datetime.now(UTC)
    start = _moment(since, "since") or end - timedelta(days=DEFAULT_DAYS)
    if end <= start:
        fail(f"--until {end.isoformat()} is not after --since {start.isoformat()}")
    query = Query(
        user=user, since=start, until=end, path_glob=path_glob, command_regex=command_regex
    )
    query.matcher()  # a bad regex is a usage error before anything else
    anchors = reader_anchors(cfg.storage, public_keys, trusted_keys)
    if not anchors:
        raise NoTrustAnchor()
    out = search_bundles(
        s3_client(cfg.storage),
        cfg.storage.reports_bucket,
        query,
        period_days(Period(start=start, end=end)),
        EvidenceVerifier(anchors),
    )
    if as_json:
        emit_json(out)
    else:
        for m in out["matches"]:
            auto = {True: "auto", False: "manual", None: "?"}[m.get("auto_approved")]
            click.echo(
                "\t".join(
                    [
                        m["ts"],
                        m["user"] or "",
                        m["kind"],
                        m["action"],
                        m["task_id"] or "",
                        _target(m),
                        auto,
                        m["bundle"],
                    ]
                )
            )
        click.echo(
            f"{len(out['matches'])} match(es) in {len(out['searched'])} verified ledger(s); missing days: {len(out['missing_days'])}",
            err=True,
        )
    for r in out["rejected"]:
        click.echo(f"rejected {r['bundle']}: {r['problem']}", err=True)
    if out["rejected"]:
        raise SystemExit(1)
