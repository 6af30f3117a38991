"""Every job and on-demand flow, by the slug used in bundle keys, the CLI and deployments,
and every configuration section a job reads (with its model and parser).

A scheduled job is one module (`module`: collect/evaluate, tasks/common/contract.py) and
one entry in JOBS; the template (flows/template.py) builds its flow. ON_DEMAND flows are
deployed and served too, but never scheduled: something outside triggers them.
`compliance config check`, the README's configuration reference and `compliance run`'s
preflight read the sections from here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from tasks.common.contract import Section


@dataclass(frozen=True)
class Job:
    slug: str
    module: str  # the job module (collect/evaluate); on-demand: the flow, "module:function"
    schedule: str | None  # default cron (UTC unless the deployment says otherwise); None: on demand
    description: str
    sections: tuple[str, ...] = ()  # the config sections it reads (SECTIONS), its Config
    extra_schedules: tuple[str, ...] = ()  # e.g. access-review's quarterly campaign
    requires: tuple[str, ...] = ("data_bucket",)  # storage settings it cannot run without
    spread: bool = False  # chunks mapped over COMPLIANCE_TASK_RUNNER (threads or Dask)

    @property
    def flow_name(self) -> str:
        return self.slug.replace("-", "_")

    def load_flow(self) -> Any:
        if ":" in self.module:  # an on-demand flow with its own body
            module, _, name = self.module.partition(":")
            return getattr(importlib.import_module(module), name)
        from flows.template import flow_for

        return flow_for(self)

    def sections_of(self) -> list[Section]:
        return [SECTIONS[s] for s in self.sections]


def _section(name: str, model: str, parser: str | None, intro: str) -> Section:
    return Section(name, model, parser, intro)


# Every job section of compliance.yaml, in the README's order (storage and notifications,
# which every job shares, are rendered before these by tasks/common/config_docs.py).
SECTIONS: dict[str, Section] = {
    s.name: s
    for s in [
        _section("quality", "tasks.quality.config:QualityConfig", "tasks.quality.config:quality_config",
                 "telemetry-quality: the data gate and the fleet-health signals."),
        _section("redaction", "tasks.retention.config:RedactionConfig", "tasks.retention.config:parse_redaction",
                 "How secrets and personal data are redacted ({jobs})."),
        _section("retention", "tasks.retention.config:RetentionConfig", "tasks.retention.config:parse_retention",
                 "log-retention: how long raw, redacted and quarantined logs are kept."),
        _section("audit", "tasks.audit.config:AuditConfig", "tasks.audit.config:audit_config",
                 "audit-trail: the ledger's findings."),
        _section("budget", "tasks.budget.config:BudgetSettings", "tasks.budget.config:parse_budget",
                 "cost-budget: prices, alerts, drift and anomaly detectors."),
        _section("budgets", "tasks.budget.config:BudgetsSection", "tasks.budget.config:parse_budgets",
                 "cost-budget: the budget rules; each rule's keys depend on its `type` (tables below)."),
        _section("access", "tasks.access.config:AccessConfig", "tasks.access.config:parse_access_config",
                 "access-review: IAM and agent-privilege checks, mutes, the campaign."),
        _section("policy", "tasks.policy.config:PolicyConfig", "tasks.policy.config:parse_policy_config",
                 "Who approves policy changes (`compliance policy …`)."),
        _section("policy_drift", "tasks.policy_drift.config:PolicyDriftConfig", None,
                 "policy-drift: which deviations from the approved policy are findings."),
    ]
}  # fmt: skip


# Order matters: telemetry-quality gates cost-budget and feeds audit-trail.
JOBS: dict[str, Job] = {
    j.slug: j
    for j in [
        Job(
            "telemetry-quality",
            "tasks.quality.job",
            "0 1 * * *",
            "validate the day's Roo Code telemetry with Great Expectations; fleet health",
            sections=("quality", "redaction"),
            spread=True,
        ),
        Job(
            "log-retention",
            "tasks.retention.job",
            "0 2 * * *",
            "redact task logs, delete what is past retention, signed deletion manifest",
            sections=("retention", "redaction"),
            spread=True,
        ),
        Job(
            "audit-trail",
            "tasks.audit.job",
            "30 2 * * *",
            "the daily ledger of every mutating agent action",
            sections=("audit", "redaction"),
        ),
        Job(
            "cost-budget",
            "tasks.budget.job",
            "0 7 * * *",
            "cost per task recomputed, budgets, forecasts, spend anomalies",
            sections=("budget", "budgets"),
        ),
        Job(
            "access-review",
            "tasks.access.job",
            "0 6 * * 1",
            "IAM and agent-privilege checks, diff since last review, campaign",
            sections=("access",),
            extra_schedules=("0 6 1 1,4,7,10 *",),
            requires=(),  # access.source may name a local directory instead of the bucket
        ),
        Job(
            "policy-drift",
            "tasks.policy_drift.job",
            "0 8 * * *",
            "every user's settings and behaviour against the approved Roo Code policy",
            sections=("policy_drift", "redaction"),
            requires=("data_bucket", "reports_bucket"),
        ),
        # Last: it grades the bundles every other job has just published.
        Job(
            "readiness",
            "tasks.readiness.job",
            "0 9 * * 1",
            "production-readiness criteria, governance controls and maturity stage",
            requires=("reports_bucket",),
        ),
    ]
}


# Run when someone hands something in, never by a schedule.
ON_DEMAND: dict[str, Job] = {
    j.slug: j
    for j in [
        Job(
            "access-review-decisions",
            "flows.on_demand:access_review_decisions",
            None,
            "record reviewers' campaign decisions as a signed bundle linked to the campaign",
            sections=("access",),
        ),
        Job(
            "policy-propose",
            "flows.on_demand:policy_propose",
            None,
            "publish a signed policy-change proposal with its diff against the approved version",
            sections=("policy",),
        ),
        Job(
            "policy-approve",
            "flows.on_demand:policy_approve",
            None,
            "record a signed approval of a policy proposal (never by its proposer)",
            sections=("policy",),
        ),
        Job(
            "policy-reject",
            "flows.on_demand:policy_reject",
            None,
            "record a signed rejection of a policy proposal",
            sections=("policy",),
        ),
        Job(
            "policy-apply",
            "flows.on_demand:policy_apply",
            None,
            "publish the approved policy version, chained and linked to its approvals",
            sections=("policy",),
        ),
    ]
}

# Scheduled, but no job: they publish no bundle of their own (not run by `compliance run`,
# not graded by readiness). Reminders go out daily while a weekly review's items are open.
HOUSEKEEPING: dict[str, Job] = {
    j.slug: j
    for j in [
        Job(
            "access-review-reminders",
            "flows.on_demand:access_review_reminders",
            "0 8 * * *",
            "remind campaign reviewers of their open items as the due date nears",
            sections=("access",),
            requires=("data_bucket", "reports_bucket"),
        ),
    ]
}

# Everything that gets a deployment (prefect.yaml, `compliance serve`).
DEPLOYABLE: dict[str, Job] = {**JOBS, **ON_DEMAND, **HOUSEKEEPING}


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
