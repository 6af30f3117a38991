"""`compliance keys|storage|evidence|reports`: signing keys, buckets, publishing, auditing."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from cli.common import emit_json, get_config, one_line_errors
from cli.reports_index import index as reports_index
from cli.trust_options import trust_options
from tasks.common.errors import ConfigError, InputError
from tasks.common.s3 import S3Uri, s3_client
from tasks.common.settings import StorageSettings
from tasks.evidence.cli_support import (
    aws_errors,
    parse_counts,
    parse_date,
    parse_period,
    read_files,
    reports_bucket,
    signer_from,
)


def _client(settings: StorageSettings) -> Any:
    return s3_client(settings)


# ---- keys ------------------------------------------------------------------------------


@click.group("keys")
def keys() -> None:
    """Signing keys for evidence bundles."""


@keys.command("generate")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the key pair.",
)
@click.option(
    "--password-env",
    default=None,
    help="Encrypt the private key with the password in this env variable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def keys_generate(out_dir: str, password_env: str | None, as_json: bool) -> None:
    """Create an ECDSA P-256 key pair (signing-key.pem, signing-key.pub.pem); print its fingerprint."""
    from tasks.evidence.signer import generate_key_files

    password = None
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise ConfigError(f"password variable {password_env} is not set")
        password = value.encode()
    priv, pub, fp = generate_key_files(Path(out_dir), password)
    if as_json:
        emit_json({"private_key": str(priv), "public_key": str(pub), "fingerprint": fp})
    else:
        click.echo(f"private key : {priv}\npublic key  : {pub}\nfingerprint : {fp}")


@keys.command("rotate")
@click.option(
    "--new-public-key",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Public key PEM of the next signing key.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def keys_rotate(new_public_key: str, as_json: bool) -> None:
    """Publish a key-rotation statement, signed by the current signing key, naming the new key.

    Readers that trust the current key then trust the new one; switch
    COMPLIANCE_SIGNING_KEY to the new private key afterwards."""
    from tasks.evidence.trust import job_trust, publish_rotation

    settings = get_config().storage
    signer = signer_from(settings)
    client, bucket = _client(settings), reports_bucket(settings)
    bundle = publish_rotation(
        client,
        bucket,
        signer,
        Path(new_public_key).read_bytes(),
        retention_days=settings.retention_days,
        trust=job_trust(client, bucket, settings),
    )
    new = bundle.statement["predicate"]["key_rotation"]["new_key"]
    out = {"bundle": bundle.envelope_uri, "old_key": signer.keyid, "new_key": new}
    if as_json:
        emit_json(out)
    else:
        click.echo(f"{bundle.envelope_uri}\nold key {signer.keyid}\nnew key {new}")


# ---- storage ---------------------------------------------------------------------------


@click.group("storage")
def storage() -> None:
    """Buckets for data and evidence."""


@storage.command("init")
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Public key PEM to upload (default: from the configured signing key).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def storage_init(public_key: str | None, as_json: bool) -> None:
    """Create the data bucket and the Object-Lock reports bucket; upload the public key."""
    from tasks.evidence import ensure_buckets

    settings = get_config().storage
    pem = Path(public_key).read_bytes() if public_key else None
    if pem is None and settings.signing_key:
        pem = signer_from(settings).public_pem
    result = ensure_buckets(_client(settings), settings, pem)
    if as_json:
        emit_json(result)
    else:
        click.echo(f"data bucket    : s3://{result['data_bucket']}")
        click.echo(f"reports bucket : s3://{result['reports_bucket']} (Object Lock)")
        click.echo(f"public key     : {result['public_key'] or '(none uploaded)'}")


# ---- evidence --------------------------------------------------------------------------


@click.group("evidence")
def evidence() -> None:
    """Publish evidence bundles."""


@evidence.command("publish")
@click.option("--job", required=True, help="Job slug (lowercase, a-z 0-9 -).")
@click.option(
    "--file",
    "files",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="A file of the bundle (repeatable).",
)
@click.option(
    "--period-start", default=None, help="Period start (ISO 8601, default: yesterday 00:00Z)."
)
@click.option("--period-end", default=None, help="Period end (ISO 8601, default: today 00:00Z).")
@click.option(
    "--status",
    type=click.Choice(["pass", "warn", "fail"]),
    default="pass",
    show_default=True,
    help="Bundle status.",
)
@click.option("--count", "count_items", multiple=True, help="A count as NAME=N (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def evidence_publish(
    job: str,
    files: tuple[str, ...],
    period_start: str | None,
    period_end: str | None,
    status: str,
    count_items: tuple[str, ...],
    as_json: bool,
) -> None:
    """Sign and publish files as one bundle under reports/<job>/…"""
    from tasks.evidence import publish_bundle

    settings = get_config().storage
    content = read_files(files)
    counts = parse_counts(count_items)
    period = parse_period(period_start, period_end)
    from tasks.evidence.trust import job_trust

    client, bucket = _client(settings), reports_bucket(settings)
    bundle = publish_bundle(
        client,
        bucket,
        job,
        content,
        signer=signer_from(settings),
        period=period,
        status=status,
        counts=counts,
        retention_days=settings.retention_days,
        trust=job_trust(client, bucket, settings),  # links across key rotations
    )
    out = {
        "job": bundle.job,
        "run_id": bundle.run_id,
        "bundle": bundle.envelope_uri,
        "sha256": bundle.envelope_sha256,
    }
    if as_json:
        emit_json(out)
    else:
        click.echo(bundle.envelope_uri)


# ---- reports ---------------------------------------------------------------------------


@click.group("reports")
def reports() -> None:
    """List, download, verify and share evidence bundles."""


reports.add_command(reports_index)


@reports.command("list")
@click.option("--job", default=None, help="Only this job.")
@click.option(
    "--since", default=None, help="Only bundles started on or after this date (YYYY-MM-DD)."
)
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def reports_list(
    job: str | None,
    since: str | None,
    public_keys: tuple[str, ...],
    trusted_keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Table of committed bundles: job, run, period, status (of trusted bundles), counts."""
    from tasks.common.storage import S3Store
    from tasks.evidence.bundles import iter_bundles
    from tasks.evidence.cli_support import listing_row
    from tasks.evidence.trust import reader_anchors, resolve_trust

    settings = get_config().storage
    client, bucket = _client(settings), reports_bucket(settings)
    store = S3Store(client, bucket)
    trust, _ = resolve_trust(store, reader_anchors(settings, public_keys, trusted_keys))
    rows = [
        listing_row(store, r, trust)
        for r in iter_bundles(client, bucket, job, parse_date(since, "--since"))
    ]
    if as_json:
        emit_json({"bundles": rows})
        return
    click.echo(f"{'job':<20} {'run':<26} {'period':<43} {'status':<6} counts")
    for r in rows:
        p = r["period"] or {}
        period = f"{p.get('start', '?')}..{p.get('end', '?')}"
        counts = " ".join(f"{k}={v}" for k, v in sorted(r["counts"].items()))
        click.echo(f"{r['job']:<20} {r['run_id']:<26} {period:<43} {r['status']!s:<6} {counts}")


@reports.command("download")
@click.option("--job", default=None, help="Only this job.")
@click.option(
    "--since", default=None, help="Only bundles started on or after this date (YYYY-MM-DD)."
)
@click.option(
    "--to", "dest", required=True, type=click.Path(file_okay=False), help="Destination folder."
)
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def reports_download(
    job: str | None,
    since: str | None,
    dest: str,
    public_keys: tuple[str, ...],
    trusted_keys: tuple[str, ...],
    as_json: bool,
) -> None:
    """Download bundles (same relative keys), verify them, write verification-summary.json."""
    from tasks.evidence.bundles import download, iter_bundles, with_download_failures, write_summary
    from tasks.evidence.trust import NoTrustAnchor, reader_anchors
    from tasks.evidence.verify import ROTATION_JOB
    from tasks.evidence.verify_target import verify_target

    settings = get_config().storage
    anchors = reader_anchors(settings, public_keys, trusted_keys)
    if not anchors:
        raise NoTrustAnchor()  # before anything is fetched
    client, bucket = _client(settings), reports_bucket(settings)
    refs = list(iter_bundles(client, bucket, job, parse_date(since, "--since")))
    if refs and job and job != ROTATION_JOB:  # key rotations carry trust to newer keys
        refs += list(iter_bundles(client, bucket, ROTATION_JOB))
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    with click.progressbar(length=len(refs), label="downloading", file=sys.stderr) as bar:
        counts = download(client, bucket, refs, out, progress=lambda _r: bar.update(1))
    report = verify_target(str(out), anchors=anchors) if refs else None
    report = with_download_failures(report, counts)  # refused keys, looked-past versions
    summary = {
        "bucket": bucket,
        "downloaded_at": datetime.now(UTC).isoformat(),
        **counts,
        "verification": report.as_json() if report else {"ok": True, "bundles": 0, "failures": []},
    }
    path = write_summary(out, summary)
    if as_json:
        emit_json(
            {
                **counts,
                "summary": str(path),
                "ok": summary["verification"]["ok"],
                "failures": summary["verification"]["failures"],
            }
        )
    else:
        click.echo(
            f"{counts['bundles']} bundles, {counts['objects']} objects -> {out}; summary {path}"
        )
        for f in report.failures if report else []:
            click.echo(f.line())
    if report and not report.ok:
        sys.exit(1)


@reports.command("verify")
@click.argument("target", required=False)
@click.option("--job", default=None, help="Verify this job's whole chain in the reports bucket.")
@trust_options
@click.option(
    "--schedule",
    default=None,
    help="Cron schedule of the job: also check staleness and period gaps.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def reports_verify(
    target: str | None,
    job: str | None,
    public_keys: tuple[str, ...],
    trusted_keys: tuple[str, ...],
    schedule: str | None,
    as_json: bool,
) -> None:
    """Verify TARGET (s3://…/attestation.dsse.json, a downloaded folder) or --job SLUG,
    trusting only pinned keys; one line per failure."""
    from tasks.evidence.trust import NoTrustAnchor, reader_anchors
    from tasks.evidence.verify_target import verify_target

    if bool(target) == bool(job):
        raise InputError("give exactly one of TARGET or --job SLUG")
    settings = get_config().storage
    anchors = reader_anchors(settings, public_keys, trusted_keys)
    if not anchors:
        raise NoTrustAnchor()
    client, retention = None, None
    if job or (target and target.startswith("s3://")):
        client, retention = _client(settings), settings.retention_days
        if job:
            target = f"s3://{reports_bucket(settings)}/reports/{job}/"
    assert target is not None
    report = verify_target(
        target, client=client, anchors=anchors, schedule=schedule, retention_days=retention
    )
    if as_json:
        emit_json(report.as_json())
    else:
        for f in report.failures:
            click.echo(f.line())
        if report.ok:
            click.echo(f"ok: {len(report.bundles)} bundles verified, chain of {len(report.chain)}")
    if not report.ok:
        sys.exit(1)


@reports.command("share")
@click.argument("bundle")
@click.option(
    "--expires",
    default="7d",
    show_default=True,
    help="Link lifetime: 3600s, 30m, 12h, 7d (max 7d).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
@aws_errors
def reports_share(bundle: str, expires: str, as_json: bool) -> None:
    """Presigned GET URLs for BUNDLE (s3://…/attestation.dsse.json or its prefix) and what
    verifying it needs: the signer's key, the previous envelope, the chain claim."""
    from tasks.evidence.bundles import parse_expires, share

    seconds = parse_expires(expires)
    settings = get_config().storage
    uri = (
        S3Uri.parse(bundle)
        if bundle.startswith("s3://")
        else S3Uri(reports_bucket(settings), bundle)
    )
    prefix = uri.key.removesuffix("attestation.dsse.json")
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    links = share(_client(settings), uri.bucket, prefix, seconds)
    if as_json:
        emit_json(
            {"bundle": f"s3://{uri.bucket}/{prefix}", "expires_in": seconds, "objects": links}
        )
    else:
        for link in links:
            click.echo(f"{link['role']}\t{link['key']}\t{link['url']}")
