"""The flows, by the slug used in bundle keys, the CLI and deployments.

JOBS run on a schedule (and via `compliance run` and the demo); ON_DEMAND flows are
deployed and served too, but never scheduled: something outside triggers them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    slug: str
    module: str
    flow_name: str
    schedule: str | None  # default cron (UTC unless the deployment says otherwise); None: on demand
    description: str
    extra_schedules: tuple[str, ...] = ()  # e.g. access-review's quarterly campaign

    def load_flow(self) -> Any:
        return getattr(importlib.import_module(self.module), self.flow_name)


# Order matters: telemetry-quality gates cost-budget and feeds audit-trail.
JOBS: dict[str, Job] = {
    j.slug: j
    for j in [
        Job(
            "telemetry-quality",
            "flows.telemetry_quality",
            "telemetry_quality",
            "0 1 * * *",
            "validate the day's Roo Code telemetry with Great Expectations; fleet health",
        ),
        Job(
            "log-retention",
            "flows.log_retention",
            "log_retention",
            "0 2 * * *",
            "redact task logs, delete what is past retention, signed deletion manifest",
        ),
        Job(
            "audit-trail",
            "flows.audit_trail",
            "audit_trail",
            "30 2 * * *",
            "the daily ledger of every mutating agent action",
        ),
        Job(
            "cost-budget",
            "flows.cost_budget",
            "cost_budget",
            "0 7 * * *",
            "cost per task recomputed, budgets, forecasts, spend anomalies",
        ),
        Job(
            "access-review",
            "flows.access_review",
            "access_review",
            "0 6 * * 1",
            "IAM and agent-privilege checks, diff since last review, campaign",
            extra_schedules=("0 6 1 1,4,7,10 *",),
        ),
        Job(
            "policy-drift",
            "flows.policy_drift",
            "policy_drift",
            "0 8 * * *",
            "every user's settings and behaviour against the approved Roo Code policy",
        ),
        # Last: it grades the bundles every other job has just published.
        Job(
            "readiness",
            "flows.readiness",
            "readiness",
            "0 9 * * 1",
            "production-readiness criteria, governance controls and maturity stage",
        ),
    ]
}


# Reviewers hand in decisions when they are done: run on demand, never by a schedule.
ON_DEMAND: dict[str, Job] = {
    j.slug: j
    for j in [
        Job(
            "access-review-decisions",
            "flows.access_decisions",
            "access_review_decisions",
            None,
            "record reviewers' campaign decisions as a signed bundle linked to the campaign",
        ),
    ]
}

# Everything that gets a deployment (prefect.yaml, `compliance serve`).
DEPLOYABLE: dict[str, Job] = {**JOBS, **ON_DEMAND}


def get_deployable(slug: str) -> Job:
    try:
        return DEPLOYABLE[slug]
    except KeyError:
        raise KeyError(f"unknown flow '{slug}' (known: {', '.join(DEPLOYABLE)})") from None


def get_job(slug: str) -> Job:
    try:
        return JOBS[slug]
    except KeyError:
        raise KeyError(f"unknown job '{slug}' (known: {', '.join(JOBS)})") from None
