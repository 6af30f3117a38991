"""The on-demand flows (ON_DEMAND in flows/registry.py): deployed, never scheduled; and
access-review-reminders (HOUSEKEEPING: scheduled, publishes no bundle).

access-review-decisions: reviewers' certify/revoke decisions on the latest campaign,
recorded as a signed bundle linked to it, when reviewers hand in their decisions CSV (the
same logic as `compliance access-review decide`). policy-propose|approve|reject|apply: the
signed policy approval chain, the same steps as `compliance policy …`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NONE

from flows.common import job_flow
from tasks.access.config import AccessConfig, parse_access_config
from tasks.access.decide import DECISIONS_JOB, run_decide
from tasks.common.settings import StorageSettings, load_config

log = logging.getLogger(__name__)


# No retries: apply=True deactivates IAM keys and a retry after the publish would sign a
# second bundle for the same decisions.
@task(cache_policy=NONE)
def record_decisions(
    decisions: str,
    settings: StorageSettings,
    cfg: AccessConfig,
    campaign: str | None,
    apply: bool,
    dry_run: bool,
) -> dict[str, Any]:
    return run_decide(decisions, settings, cfg, campaign=campaign, apply=apply, dry_run=dry_run)


def _remediation_table(remediation: list[dict[str, Any]]) -> None:
    """What each revocation did (or would do), next to finish_job's summary in the UI."""
    from prefect.artifacts import create_table_artifact

    rows = [
        {
            "item_id": r.get("item_id", ""),
            "action": r.get("action", ""),
            "target": f"{r['aws_user']}/{r['key_id']}"
            if r.get("key_id")
            else r.get("resource", ""),
            "result": r.get("result", ""),
        }
        for r in remediation
    ]
    try:
        create_table_artifact(
            table=rows,
            key=f"{DECISIONS_JOB}-remediation",
            description=f"{len(rows)} revocations",
        )
    except Exception as exc:  # artifacts are a convenience; the bundle is the record
        log.warning("could not create the remediation artifact: %s", type(exc).__name__)


@job_flow(DECISIONS_JOB)
def access_review_decisions(
    decisions: str,
    campaign: str | None = None,
    apply: bool = False,
    dry_run: bool = False,
    config_path: str | None = None,
) -> dict[str, Any]:
    """decisions: the reviewers' CSV (path on the worker or s3:// URI); campaign: a
    campaign.csv to decide on instead of the latest verified access-review bundle's;
    apply: deactivate revoked IAM access keys (otherwise only listed)."""
    app = load_config(config_path)
    cfg = parse_access_config(app.section("access"), app.source or "config")  # before any work
    result = record_decisions(decisions, app.storage, cfg, campaign, apply, dry_run)
    if result["remediation"]:
        _remediation_table(result["remediation"])
    if not dry_run:  # decided items drop out of the reviewers' reminders
        result["reminders"] = _remind(app, cfg)
    return result


def _remind(app: Any, cfg: AccessConfig) -> dict[str, Any]:
    from tasks.access.campaign_notices import remind_latest_campaign
    from tasks.common.contract import run_notifications

    return remind_latest_campaign(app.storage, cfg, run_notifications(app))


@job_flow("access-review-reminders")
def access_review_reminders(config_path: str | None = None) -> dict[str, Any]:
    """Daily (HOUSEKEEPING in flows/registry.py): reviewers of the latest verified campaign
    hear of their open items as the due date nears and once overdue. Publishes no bundle:
    the campaign and its decisions are the record; the alerts' state keeps the cooldown."""
    app = load_config(config_path)
    cfg = parse_access_config(app.section("access"), app.source or "config")
    app.storage.require("data_bucket", "reports_bucket")
    return _remind(app, cfg)


# The policy steps. No retries: each publishes a signed record, and a retry after the
# publish would record a second proposal or approval.
def _policy_ctx(config_path: str | None) -> Any:
    from tasks.policy.steps import policy_context

    return policy_context(load_config(config_path))


def _read(location: str, config_path: str | None) -> bytes:
    """A local path on the worker, or an s3:// URI read with the flow's storage."""
    if location.startswith("s3://"):
        from tasks.common.s3 import S3Uri, s3_client
        from tasks.common.storage import get_bytes

        uri = S3Uri.parse(location)
        return get_bytes(s3_client(load_config(config_path).storage), uri.bucket, uri.key)
    return Path(location).read_bytes()


@job_flow("policy-propose")
def policy_propose(
    policy_file: str, by: str, reason: str, config_path: str | None = None
) -> dict[str, Any]:
    """policy_file: the proposed policy (a path on the worker or an s3:// URI)."""
    from tasks.policy.chain import parse_policy_file, propose

    ctx = _policy_ctx(config_path)
    doc = parse_policy_file(_read(policy_file, config_path), policy_file)
    proposal, uri = propose(ctx, doc, by, reason)
    return {"proposal": proposal, "bundle": uri}


@job_flow("policy-approve")
def policy_approve(proposal: str, by: str, config_path: str | None = None) -> dict[str, Any]:
    from tasks.policy.chain import approve

    return {"proposal": proposal, "approve": by, "bundle": approve(_policy_ctx(config_path), proposal, by)}  # fmt: skip


@job_flow("policy-reject")
def policy_reject(proposal: str, by: str, config_path: str | None = None) -> dict[str, Any]:
    from tasks.policy.chain import reject

    return {"proposal": proposal, "reject": by, "bundle": reject(_policy_ctx(config_path), proposal, by)}  # fmt: skip


@job_flow("policy-apply")
def policy_apply(proposal: str, config_path: str | None = None) -> dict[str, Any]:
    """Publish the approved version; the document to distribute is in the bundle."""
    from tasks.policy.chain import apply

    uri, version, _ = apply(_policy_ctx(config_path), proposal)
    return {"proposal": proposal, "bundle": uri, "version": version}
