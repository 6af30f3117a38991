"""`compliance telemetry …`: read Roo Code data (the `generate` command lives in cli/generate.py)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import click

from cli.common import get_config, one_line_errors
from tasks.common.s3 import is_s3, s3_client

# The fields of one task in `summarize --format json`, in order.
SUMMARY_FIELDS = (
    "task_id",
    "status",
    "started_at",
    "ended_at",
    "mode",
    "api_protocol",
    "tokens_in",
    "tokens_out",
    "cache_writes",
    "cache_reads",
    "total_cost",
    "context_tokens",
    "api_requests",
    "api_failures",
    "tool_uses",
    "write_tool_uses",
    "commands",
    "mcp_calls",
    "checkpoints",
    "errors",
    "token_rule",
    "quarantined",  # records of this task's files that were quarantined
    "agent",  # roo | cline
)
TABLE_COLUMNS = (
    ("task_id", "task", 36),
    ("agent", "agent", 5),
    ("status", "status", 9),
    ("started_at", "started (UTC)", 20),
    ("mode", "mode", 10),
    ("tokens_in", "tok in", 9),
    ("tokens_out", "tok out", 8),
    ("total_cost", "cost $", 9),
    ("context_tokens", "context", 8),
    ("api_requests", "reqs", 5),
    ("api_failures", "fails", 5),
    ("tool_uses", "tools", 5),
    ("write_tool_uses", "writes", 6),
    ("commands", "cmds", 5),
    ("mcp_calls", "mcp", 4),
    ("checkpoints", "ckpts", 5),
    ("errors", "errors", 6),
    ("quarantined", "quar", 4),
    ("token_rule", "token rule", 23),
)


@click.group("telemetry")
def telemetry() -> None:
    """Generate and inspect Roo Code telemetry and task data."""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


QUARANTINE_FIELDS = ("source", "position", "reason", "detail")


def summarize_source(
    path: str,
    s3: Any = None,
    default_user: str = "local",
    max_file_bytes: int | None = None,
    quarantined: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int], Counter]:
    """Per-task summaries (Roo Code's own totals), the counts, and quarantine reasons.

    Events are streamed and dropped; only the task rows are kept. `quarantined`, when
    given, receives every quarantined record (QUARANTINE_FIELDS; no excerpt).
    """
    # Imported here: ingestion pulls in pandas/pyarrow, which `compliance --help` need not load.
    from tasks.telemetry.ingest import DEFAULT_MAX_FILE_BYTES, Ingestion

    run = Ingestion(
        path,
        s3_client=s3,
        default_user=default_user,
        max_file_bytes=max_file_bytes or DEFAULT_MAX_FILE_BYTES,
    )
    summaries: list[dict[str, Any]] = []
    sources: list[str] = []
    reasons: Counter = Counter()
    per_folder: Counter = Counter()
    columns = [f for f in SUMMARY_FIELDS if f != "quarantined"] + ["source"]
    for name, table in run:
        if name == "tasks":
            for row in table.select(columns).to_pylist():
                row["started_at"] = _iso(row["started_at"])
                row["ended_at"] = _iso(row["ended_at"])
                sources.append(row.pop("source") or "")
                summaries.append(row)
        elif name == "quarantine":
            reasons.update(table.column("reason").to_pylist())
            # a task's files are <task folder>/<name>
            per_folder.update(s.rpartition("/")[0] for s in table.column("source").to_pylist())
            if quarantined is not None:
                quarantined.extend(table.select(list(QUARANTINE_FIELDS)).to_pylist())
    for i, (row, src) in enumerate(zip(summaries, sources, strict=True)):
        row["quarantined"] = per_folder.get(src, 0)
        summaries[i] = {k: row[k] for k in SUMMARY_FIELDS}
    summaries.sort(key=lambda r: (r["started_at"] or "", r["task_id"]))
    return summaries, run.counts, reasons


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:.4f}"
    elif isinstance(value, str) and value.endswith("Z") and "T" in value:
        text = value[:19].replace("T", " ")
    else:
        text = str(value)
    return text.rjust(width) if isinstance(value, int | float) else text.ljust(width)


def render_table(summaries: list[dict[str, Any]]) -> str:
    header = "  ".join(title.ljust(w) for _, title, w in TABLE_COLUMNS)
    lines = [header, "-" * len(header)]
    for row in summaries:
        lines.append("  ".join(_cell(row[key], w) for key, _, w in TABLE_COLUMNS))
    if summaries:
        cost = sum(r["total_cost"] or 0 for r in summaries)
        lines.append("-" * len(header))
        lines.append(f"{len(summaries)} tasks, total cost ${cost:.4f}")
    return "\n".join(lines)


def footer(counts: dict[str, int], reasons: Counter) -> str:
    balanced = counts["records_in"] == counts["valid"] + counts["quarantined"]
    text = (
        f"records in {counts['records_in']} = valid {counts['valid']} + quarantined "
        f"{counts['quarantined']} ({'balanced' if balanced else 'NOT BALANCED'})"
    )
    if reasons:
        text += "; quarantine reasons: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))
    return text


def quarantine_lines(quarantined: list[dict[str, Any]]) -> list[str]:
    """One line per quarantined record: file, position, reason and why."""
    rows = sorted(quarantined, key=lambda q: (q["source"], _position_key(q["position"])))
    return [f"  {q['source']}  {q['position']}  {q['reason']}: {q['detail']}" for q in rows]


def _position_key(position: str) -> tuple[str, int]:
    word, _, number = (position or "").partition(" ")
    return (word, int(number)) if number.isdigit() else (position or "", -1)


@telemetry.command("summarize")
@click.argument("path")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json (a list, one object per task) for scripts.",
)
@click.option(
    "--user",
    "default_user",
    default="local",
    show_default=True,
    help="User for a bare storage folder or task folder (raw/roo/<user>/ names its own).",
)
@click.option(
    "--max-file-mb",
    type=click.IntRange(1, 4096),
    default=None,
    help="Quarantine files larger than this instead of reading them (default 48).",
)
@one_line_errors
def summarize(path: str, fmt: str, default_user: str, max_file_mb: int | None) -> None:
    """Summarise each Roo Code task under PATH (folder or s3:// prefix) with Roo Code's totals.

    PATH may be a Roo Code storage folder, one task folder, or a data bucket root with
    raw/roo/<user>/tasks/ and raw/events/. Bad records are quarantined and counted.
    """
    client = s3_client(get_config().storage) if is_s3(path) else None
    max_bytes = max_file_mb * 1024 * 1024 if max_file_mb else None
    quarantined: list[dict[str, Any]] = []
    summaries, counts, reasons = summarize_source(
        path, client, default_user, max_bytes, quarantined
    )
    if fmt == "json":
        # stdout stays the documented list of tasks; what was quarantined goes to stderr
        click.echo(json.dumps(summaries, indent=2))
        click.echo(footer(counts, reasons), err=True)
        click.echo(json.dumps({**counts, "quarantine": quarantined}), err=True)
    else:
        click.echo(render_table(summaries))
        click.echo(footer(counts, reasons))
        if quarantined:
            click.echo("quarantined records (file, position, reason):")
            click.echo("\n".join(quarantine_lines(quarantined)))
