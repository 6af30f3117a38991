"""`compliance demo` (what `make run` runs): the whole product on the embedded default.

An embedded S3 server (moto, real HTTP on 127.0.0.1) and Prefect's embedded server; a
generated fleet; one policy change proposed, approved and applied; every job in order
(telemetry-quality gates cost-budget; readiness grades them all last); every bundle
downloaded and verified; then one table: job, status, findings by severity, report path.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import yaml

from cli.common import one_line_errors
from flows.registry import JOBS

DEMO_ENV = {
    "COMPLIANCE_DATA_BUCKET": "compliance-data",
    "COMPLIANCE_REPORTS_BUCKET": "compliance-reports",
    "COMPLIANCE_RETENTION_DAYS": "1",  # the demo locks reports for a day, not seven years
}


def _prepare(out: Path, users: int, days: int, seed: int, start) -> str:
    """Keys, buckets, a generated fleet and seeded IAM users; returns the key's fingerprint
    (what the demo's auditor pins)."""
    import boto3

    from tasks.access.demo_seed import seed_iam
    from tasks.common.s3 import s3_client
    from tasks.common.settings import load_config
    from tasks.evidence import ensure_buckets
    from tasks.evidence.signer import generate_key_files
    from tasks.telemetry.generator import generate_fleet

    private, public, fingerprint = generate_key_files(out / "keys")
    os.environ["COMPLIANCE_SIGNING_KEY"] = str(private)
    os.environ.setdefault("COMPLIANCE_REDACTION_KEY", secrets.token_hex(32))  # this run only
    settings = load_config().storage
    client = s3_client(settings)
    ensure_buckets(client, settings, public.read_bytes())
    click.echo(
        f"signing key {fingerprint[:16]}…, buckets {settings.data_bucket}, {settings.reports_bucket}"
    )
    truth = generate_fleet(
        f"s3://{settings.data_bucket}/", users, days, seed, start=start, s3_client=client
    )
    click.echo(
        f"generated {users} users × {days} days of Roo Code data, {len(truth['incidents'])} planted incidents"
    )
    _write_demo_config(out / "compliance.yaml", truth)
    iam = boto3.session.Session(region_name=settings.region).client(
        "iam", endpoint_url=settings.endpoint_url
    )
    seed_iam(iam, truth["users"], truth)
    _approve_policy(out, truth, client, settings)
    return fingerprint


def _approve_policy(out: Path, truth: dict[str, Any], client: Any, settings: Any) -> None:
    """One policy change through the signed chain before the jobs run: proposed by one
    roster user, approved by another, applied; the baseline goes where it is distributed."""
    from tasks.evidence.signer import load_signer
    from tasks.evidence.verify import Trust
    from tasks.policy.chain import Ctx, apply, approve, canonical, propose
    from tasks.policy.config import PolicyConfig
    from tasks.policy_drift.config import BASELINE_KEY
    from tasks.policy_drift.fleet_policy import fleet_policy

    users = [u["user"] for u in truth["users"] if u["status"] == "active"]
    proposer, approver = users[0], users[1]
    signer = load_signer(settings.signing_key)
    cfg = PolicyConfig(approvers=users[1:3])  # as in the demo's compliance.yaml
    ctx = Ctx(client, settings.reports_bucket, signer, Trust.from_pems([("demo", signer.public_pem)]),
              settings.retention_days, cfg, active_users=set(users))  # fmt: skip
    pid, _ = propose(ctx, fleet_policy(), proposer, "the fleet's first approved Roo Code policy")
    approve(ctx, pid, approver)
    _, version, doc = apply(ctx, pid)
    client.put_object(
        Bucket=settings.data_bucket, Key=BASELINE_KEY, Body=canonical(doc["baseline"])
    )
    (out / "policy.json").write_bytes(canonical(doc))
    click.echo(f"policy version {version}: proposed by {proposer}, approved by {approver}, applied")


def _write_demo_config(path: Path, truth: dict[str, Any]) -> None:
    """Policies that make every job show its teeth on a week of generated data."""
    held = truth["users"][0]["user"]
    active = [u["user"] for u in truth["users"] if u["status"] == "active"]
    config = {
        # the demo's one policy change is approved by the first of these (cli/demo.py)
        "policy": {"approvers": active[1:3], "required_approvals": 1},
        # Raw task logs are kept 0 days in the demo, so log-retention redacts and deletes
        # them all — except one user's, under a legal hold.
        "retention": {"raw_days": 0, "legal_holds": {"matters": {"MATTER-2026-001": [held]}}},
        "budgets": {
            "timezone": "UTC",
            "rules": [
                {
                    "name": "team-month",
                    "type": "spend",
                    "scope": "team",
                    "period": "month",
                    "amount": 150,
                    "threshold": {"warn": "80%", "fail": "100%"},
                },
                {
                    "name": "task-cap",
                    "type": "task_cap",
                    "threshold": {"warn": "10x", "fail": "$25"},
                },
            ],
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    os.environ["COMPLIANCE_CONFIG"] = str(path)
    click.echo(f"demo policies in {path} (legal hold on {held}'s task logs)")


def _download_and_verify(out: Path, fingerprint: str) -> tuple[Path, Any]:
    """Download every bundle with its chain claims and keys; verify them all as an auditor
    would: pinning the signing key's fingerprint (the PEM then comes from keys/)."""
    from tasks.common.s3 import s3_client
    from tasks.common.settings import load_config
    from tasks.evidence.bundles import download, iter_bundles, with_download_failures
    from tasks.evidence.verify_target import verify_target

    settings = load_config().storage
    client = s3_client(settings)
    dest = out / "bundles"
    counts = download(
        client, settings.reports_bucket, list(iter_bundles(client, settings.reports_bucket)), dest
    )
    report = verify_target(str(dest), trusted_keys=[fingerprint])
    return dest, with_download_failures(report, counts)  # refused keys count as failures


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [
            fmt.format(*header),
            fmt.format(*["-" * w for w in widths]),
            *[fmt.format(*map(str, r)) for r in rows],
        ]
    )


@click.command("demo")
@click.option("--users", default=8, show_default=True, help="Users in the generated fleet.")
@click.option("--days", default=7, show_default=True, help="Days of generated activity.")
@click.option("--seed", default=7, show_default=True, help="Generator seed (same seed, same data).")
@click.option(
    "--out",
    default="demo-output",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Keys and downloaded bundles go here.",
)
@one_line_errors
def demo(users: int, days: int, seed: int, out: str) -> None:
    """Run every job on an embedded S3 + embedded Prefect, then download and verify every bundle."""
    from cli.run import run_local
    from tasks.common.embedded import embedded_s3

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    out_dir = Path(out)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    for k, v in DEMO_ENV.items():
        os.environ.setdefault(k, v)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days)
    with embedded_s3() as server:
        click.echo(f"embedded S3 (moto server mode) at {server.endpoint_url}")
        fingerprint = _prepare(out_dir, users, days, seed, start)
        results = []
        for slug in JOBS:
            t = time.perf_counter()
            result = run_local(slug, {"since": start.isoformat(), "until": today.isoformat()})
            results.append(result)
            click.echo(
                f"  {slug:<18} {result['status']:<5} {time.perf_counter() - t:5.1f} s  {result['bundle']}"
            )
        dest, report = _download_and_verify(out_dir, fingerprint)
    from tasks.reports.index import write_index

    index = write_index(dest, report.as_json())  # the auditor's entry page
    rows = []
    for r in results:
        c = r["counts"]
        prefix = r["bundle"].split("/", 3)[3].rsplit("/", 1)[0] if r["bundle"] else ""
        failed = [f for f in report.failures if prefix and prefix in f.object]
        html = dest / prefix / "report.html" if prefix else "(dry run)"
        row = [
            r["job"],
            r["status"],
            c.get("critical", 0),
            c.get("high", 0),
            c.get("medium", 0),
            c.get("low", 0),
        ]
        rows.append([*row, "no" if failed else "yes", html])
    click.echo("")
    click.echo(
        _table(rows, ["job", "status", "critical", "high", "medium", "low", "verified", "report"])
    )
    for f in report.failures:
        click.echo(f"verification: {f.line()}", err=True)
    bad = [r[0] for r in rows if r[6] != "yes"] + (["chain"] if not report.ok else [])
    elapsed = time.perf_counter() - t0
    click.echo(f"evidence index: {index}")
    click.echo(
        f"\n{len(results)} jobs; every bundle downloaded to {dest} and verified against the pinned key {fingerprint[:16]}…: {'ok' if report.ok else 'FAILED'}; {elapsed:.0f} s"
    )
    click.echo(f"as an auditor: compliance reports verify {dest} --trusted-key {fingerprint}")
    if bad:
        raise click.ClickException(f"bundles failed verification: {', '.join(bad)}")
