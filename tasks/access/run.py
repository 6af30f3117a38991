"""The access review as plain functions: collect a snapshot, review it, build the files."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from tasks.access.campaign import build_campaign, campaign_csv_bytes, parse_campaign
from tasks.access.config import AccessConfig
from tasks.access.csvout import findings_csv
from tasks.access.decisions import overdue_findings
from tasks.access.diff import diff_counts, diff_review
from tasks.access.grants import Grant, collect_grants
from tasks.access.iam import collect_iam
from tasks.access.ocsf import ocsf_jsonl_bytes
from tasks.access.previous import PreviousBundle
from tasks.access.review import apply_mutes, evaluate_checks, scope_snapshot, sort_findings
from tasks.access.snapshot import AccessSnapshot
from tasks.access.sources import collect_org, collect_roster, collect_settings
from tasks.common.models import Finding, FindingStatus, Severity
from tasks.common.storage import Store

JOB = "access-review"


def collect_snapshot(
    store: Store, config: AccessConfig, now: datetime, iam_client: Any = None
) -> tuple[AccessSnapshot, list[dict[str, Any]]]:
    """Read every source once. A failing IAM collection is recorded, not raised."""
    settings, errors, read = collect_settings(store)
    org, org_err = collect_org(store)
    roster, roster_errs = collect_roster(store)
    errors += ([org_err] if org_err else []) + roster_errs
    iam, iam_error = None, None
    if config.collect_iam and iam_client is not None:
        try:
            iam = collect_iam(iam_client, key_detail=config.iam_key_detail)
        except Exception as exc:  # botocore errors: the IAM checks then report "cannot run"
            iam_error = f"IAM collection failed: {type(exc).__name__}: {str(exc)[:160]}"
    elif not config.collect_iam:
        iam_error = "IAM collection disabled (access.collect_iam: false)"
    else:
        iam_error = "no IAM client"
    snapshot = AccessSnapshot(
        now=now,
        iam=iam,
        iam_error=iam_error,
        settings=settings,
        org=org,
        roster=roster,
        errors=errors,
    )
    listing = hashlib.sha256("\n".join(sorted(read)).encode()).hexdigest()
    inputs = [{"uri": store.uri("raw/roo/"), "digest": {"sha256": listing}}]
    return snapshot, inputs


@dataclass
class ReviewResult:
    findings: list[Finding]
    grants: list[Grant]
    summary: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def review(
    snapshot: AccessSnapshot,
    config: AccessConfig,
    *,
    run_id: str,
    now: datetime,
    team: str | None = None,
    user: str | None = None,
    previous: PreviousBundle | None = None,
    previous_error: str | None = None,
    decided: set[str] | None = None,
    untrusted_decisions: list[str] = (),
) -> ReviewResult:
    """`decided`: item ids with an accepted decision on the previous review's campaign;
    its items past due without one become findings (whole-fleet reviews only)."""
    scoped = scope_snapshot(snapshot, team, user)
    grants = collect_grants(scoped)
    items, campaign_findings = build_campaign(
        grants, scoped.roster or {}, config.campaign, run_id, now
    )
    followed = previous is not None and decided is not None and not (team or user)
    if followed:
        earlier = parse_campaign(previous.files["campaign.csv"], previous.envelope_uri)
        campaign_findings += overdue_findings(earlier, decided, now)
        campaign_findings += [
            Finding.make(
                "access_review_overdue",
                Severity.medium,
                FindingStatus.error,
                why.split(":", 1)[0],
                f"decisions bundle not trusted, its decisions are not counted: {why}"[:300],
            )
            for why in untrusted_decisions
        ]
    findings = sort_findings(evaluate_checks(scoped, config) + campaign_findings)
    mute_stats = apply_mutes(findings, config.mutes, now.date())
    diff = None
    if previous_error:
        findings.insert(
            0,
            Finding.make(
                "access_review_diff",
                Severity.high,
                FindingStatus.error,
                "previous-review",
                f"previous review not trusted, no diff: {previous_error}"[:300],
            ),
        )
    elif previous is not None:
        report = previous.json("report.json", {}) or {}
        diff = diff_review(
            report.get("findings", []), previous.json("grants.json", []) or [], findings, grants
        )
        diff["previous"] = {"uri": previous.envelope_uri, "sha256": previous.envelope_sha256}
    summary = {
        "iam_users": len(scoped.iam.users) if scoped.iam else None,
        "credential_report_generated_at": _generated(scoped),
        "settings_exports": len(scoped.settings),
        "roster_people": len(scoped.roster or {}),
        "checks_run": len({f.check for f in findings}),
        "grants": len(grants),
        "campaign_items": len(items),
        "previous_campaign_overdue": sum(
            1
            for f in findings
            if f.check == "access_review_overdue" and f.status == FindingStatus.fail
        )
        if followed
        else None,
        "unreadable_inputs": len(scoped.errors),
        **mute_stats,
        **diff_counts(diff),
        "scope": {"team": team, "user": user},
    }
    files = {
        "findings.ocsf.jsonl": ocsf_jsonl_bytes(
            findings,
            run_id=run_id,
            generated_at=now,
            account=scoped.iam.account if scoped.iam else "",
        ),  # fmt: skip
        "findings.csv": findings_csv(findings, now),  # Prowler's columns, replaces the default
        "campaign.csv": campaign_csv_bytes(items),
        "grants.json": orjson.dumps(
            [g.model_dump(mode="json") for g in grants],
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
        ),
    }
    if diff is not None:
        files["diff.json"] = orjson.dumps(diff, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return ReviewResult(findings=findings, grants=grants, summary=summary, files=files)


def _generated(snapshot: AccessSnapshot) -> str | None:
    # moto's report carries a fixed GeneratedTime; shown, never judged
    stamp = snapshot.iam.report_generated_at if snapshot.iam else None
    return stamp.isoformat() if stamp else None
