"""`compliance reports index`: download, verify and index bundles as one static HTML page.

Registered in the `reports` group (cli/evidence.py). Trusts only the keys it is given, like
every reader of bundles (see SECURITY.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli.common import emit_json, get_config, one_line_errors
from cli.trust_options import trust_options
from tasks.evidence.bundles import parse_expires
from tasks.evidence.cli_support import aws_errors, parse_date, reports_bucket


@click.command("index")
@click.option("--job", default=None, help="Only this job.")
@click.option(
    "--since", default=None, help="Only bundles started on or after this date (YYYY-MM-DD)."
)
@click.option(
    "--to", "dest", required=True, type=click.Path(file_okay=False), help="Destination folder."
)
@click.option(
    "--from-folder",
    "local",
    is_flag=True,
    help="Index the bundles already downloaded in --to (no S3 access).",
)
@click.option(
    "--share",
    "share_for",
    default=None,
    metavar="EXPIRES",
    help="Also write DIR/index-shared.html whose links are presigned GET URLs valid this long"
    " (e.g. 7d): a page an auditor without AWS credentials can browse.",
)
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def index(
    job: str | None,
    since: str | None,
    dest: str,
    local: bool,
    share_for: str | None,
    public_keys: tuple[str, ...],
    trusted_keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Download and verify bundles, then write DIR/index.html: by control, by job, by period."""
    from tasks.evidence.trust import NoTrustAnchor, reader_anchors
    from tasks.evidence.verify_target import verify_target
    from tasks.reports.index import collect, render_index

    out = Path(dest)
    day = parse_date(since, "--since")
    settings = get_config().storage
    anchors = reader_anchors(settings, public_keys, trusted_keys)
    if not anchors:
        raise NoTrustAnchor()  # before anything is fetched
    if share_for and local:
        raise click.UsageError("--share needs the bucket: drop --from-folder")
    seconds = parse_expires(share_for) if share_for else None
    if not local:
        from tasks.common.s3 import s3_client
        from tasks.evidence.bundles import download, iter_bundles, with_download_failures

        client, bucket = s3_client(settings), reports_bucket(settings)
        refs = list(iter_bundles(client, bucket, job, day))
        out.mkdir(parents=True, exist_ok=True)
        with click.progressbar(length=len(refs), label="downloading", file=sys.stderr) as bar:
            counts = download(client, bucket, refs, out, progress=lambda _r: bar.update(1))
    has_bundles = (out / "reports").is_dir() and any((out / "reports").iterdir())
    report = verify_target(str(out), anchors=anchors) if has_bundles else None
    if not local:
        report = with_download_failures(report, counts)  # refused keys, later versions
    verification = report.as_json() if report else None
    bundles = [b for b in collect(out, verification, day) if not job or b["job"] == job]
    path = out / "index.html"
    path.write_bytes(render_index(bundles))
    shared = None
    if seconds is not None:  # the same page, every link a presigned GET of the bucket's object
        shared = out / "index-shared.html"
        shared.write_bytes(
            render_index(bundles, link=lambda prefix, name: client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": prefix + name}, ExpiresIn=seconds
            ))
        )  # fmt: skip
    failed = sum(b["verdict"] == "failed" for b in bundles)
    if as_json:
        emit_json({"index": str(path), "shared_index": str(shared) if shared else None,
                   "bundles": len(bundles), "failed_verification": failed})  # fmt: skip
    else:
        click.echo(f"{path}: {len(bundles)} bundles, {failed} failed verification")
    if failed:
        sys.exit(1)
