"""`compliance redact --in PATH --out PATH`: redact secrets and personal data."""

from __future__ import annotations

import sys

import click

from cli.common import emit_json, get_config, one_line_errors
from tasks.common.s3 import is_s3, s3_client
from tasks.retention.config import parse_redaction, redaction_key
from tasks.retention.redact_io import redact_path


@click.command("redact")
@click.option(
    "--in",
    "src",
    required=True,
    help="A Roo Code storage folder, one file, '-' (stdin) or an s3:// prefix.",
)
@click.option(
    "--out", "dst", required=True, help="Output folder, file, '-' (stdout) or s3:// prefix."
)
@click.option("--workers", type=int, default=2, show_default=True, help="Parallel workers.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_context
@one_line_errors
def redact(ctx: click.Context, src: str, dst: str, workers: int, as_json: bool) -> None:
    """Copy PATH with secrets and personal data replaced by [REDACTED:<kind>:<hmac8>].

    JSON keeps its structure (strings inside strings are decoded first); plain text is
    redacted in streaming chunks. Prints how many values of each kind were redacted,
    never the values. An object key that is not a clean relative path, a symlink out of
    --in or through --out is skipped with one line on stderr; the exit code is then 1.
    """
    config = get_config(ctx)
    source = config.source or "config"
    cfg = parse_redaction(config.section("redaction"), source)
    key = redaction_key(cfg, config.storage.data_bucket)
    client = s3_client(config.storage) if is_s3(src) or is_s3(dst) else None
    summary = redact_path(src, dst, cfg, key, client=client, workers=workers)
    for line in summary["problems"]:  # one line per refused key, file or symlink
        click.echo(line, err=True)
    # with --out - the data owns stdout; the summary goes to stderr
    echo_err = dst == "-"
    if as_json:
        if echo_err:
            click.echo(_json_line(summary), err=True)
        else:
            emit_json(summary)
        ctx.exit(1 if summary["refused"] else 0)
    lines = [
        f"files: {summary['files']} ({summary['files_changed']} changed), "
        f"{summary['bytes_in'] / 1e6:.1f} MB in {summary['seconds']} s",
    ]
    lines += [f"  {kind}: {n}" for kind, n in summary["counts"].items()] or ["  nothing redacted"]
    if summary["refused"]:
        lines.append(f"refused: {summary['refused']} (unsafe keys or symlinks, listed above)")
    for line in lines:
        click.echo(line, err=echo_err)
    sys.stdout.flush()
    ctx.exit(1 if summary["refused"] else 0)


def _json_line(obj: dict) -> str:
    import json

    return json.dumps(obj, sort_keys=True)
