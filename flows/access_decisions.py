"""access-review-decisions: reviewers' certify/revoke decisions on the latest campaign,
recorded as a signed bundle linked to it. On demand only (no schedule): it runs when
reviewers hand in their decisions CSV, the same logic as `compliance access-review decide`."""

from __future__ import annotations

import logging
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
    return result
