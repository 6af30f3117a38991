"""What every check means: title, remediation and control mappings, for every job.

access-review's checks carry their own metadata (tasks/access/checks/*/metadata.json);
the other jobs' checks are described here, once, so report.html, OCSF and OSCAL say the
same thing about them. SOC 2 ids are the 2017 Trust Services Criteria (revised 2022).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class CheckInfo:
    id: str
    title: str
    remediation: str
    soc2: tuple[str, ...] = ()
    cis_aws: tuple[str, ...] = ()
    job: str = ""
    description: str = ""
    other: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def mappings(self) -> dict[str, list[str]]:
        out = {"SOC 2": list(self.soc2), "CIS AWS": list(self.cis_aws)}
        out.update({k: list(v) for k, v in self.other.items()})
        return {k: v for k, v in out.items() if v}


_COST = {"Operating model": ("cost governance",)}
_T, _A, _C, _R = "telemetry-quality", "audit-trail", "cost-budget", "log-retention"
_STATIC = [
    CheckInfo("quality.quarantine_rate", "Telemetry records quarantined", "Open quarantine.csv, fix the producer of the bad records (collector or Roo Code export), then re-run the job for the period.", ("PI1.2",), job=_T),
    CheckInfo("quality.expectation", "Data expectations (Great Expectations suites)", "Read the failed expectation in gx-validation-*.json; fix the upstream data or, if the rule is wrong, the suite in expectations/.", ("PI1.2", "PI1.3"), job=_T),
    CheckInfo("quality.signal.auth_failure_spike", "Spike of provider authentication failures", "Ask the user whether their API key was rotated or leaked; revoke and re-issue it if in doubt.", ("CC7.2", "CC6.1"), job=_T),
    CheckInfo("quality.signal.command_timeout_rate", "Agent commands timing out", "Look at the commands the agent ran that day; a hung command can hide an agent looping on a long-running or interactive process.", ("CC7.2",), job=_T),
    CheckInfo("quality.signal.rollback_burst", "Burst of checkpoint restores", "Review the task with the user: repeated rollbacks mean the agent kept producing changes that had to be undone.", ("CC7.2", "CC8.1"), job=_T),
    CheckInfo("quality.signal.write_outside_workspace", "Agent wrote outside its workspace", "Inspect the files written outside the workspace and restore them if needed; restrict write access in the agent's settings.", ("CC6.8", "CC7.2"), job=_T),
    CheckInfo("quality.signal.write_burst", "Burst of file writes", "Review the task: an unusually fast stream of writes can be an agent rewriting files unattended.", ("CC7.2", "CC8.1"), job=_T),
    CheckInfo("quality.signal.spend_acceleration", "Sudden rise in model spend", "Find the tasks behind the spend (cost-budget's task_costs.csv) and confirm they were intended; add a cost cap to auto-approval.", ("CC7.2",), job=_T, other=_COST),
    CheckInfo("audit.completeness", "Audit ledger incomplete", "Compare the ledger with the validated events of the day; re-run audit-trail once the missing events are ingested.", ("CC7.2", "PI1.4"), job=_A),
    CheckInfo("audit.denied_command", "Agent ran a denied command", "Review the command with the user; add it to the denied commands of every agent and rotate anything it may have exposed.", ("CC6.8", "CC7.2"), job=_A),
    CheckInfo("audit.write_outside_workspace", "Agent wrote outside its workspace", "Inspect the written files and restore them if needed; restrict the agent's write scope.", ("CC6.8", "CC7.2"), job=_A),
    CheckInfo("audit.write_burst", "Burst of agent file writes", "Review the task behind the burst with its user.", ("CC7.2", "CC8.1"), job=_A),
    CheckInfo("audit.ledger_changed", "A day's ledger changed on re-run", "Find which events changed since the earlier bundle and why; the earlier bundle stays as evidence.", ("CC7.2", "CC7.3"), job=_A),
    CheckInfo("audit.previous_bundle_invalid", "Earlier ledger bundle does not verify", "Run `compliance reports verify` on the earlier bundle and investigate tampering or a key change.", ("CC7.2", "CC7.3"), job=""),
    CheckInfo("audit.no_input", "No validated events for the day", "Check that telemetry-quality ran and passed its gate for the day, then re-run audit-trail.", ("CC7.2", "PI1.4"), job=""),
    CheckInfo("audit.custom_modes_unreadable", "Custom modes file unreadable", "Fix the custom modes export named in the finding so write scopes can be classified.", ("CC7.2",), job=""),
    CheckInfo("budget.spend", "Spend over budget", "Agree the overspend with the team's owner; lower auto-approval cost caps or move work to cheaper models.", (), job=_C, other=_COST),
    CheckInfo("budget.forecast", "Spend forecast over budget", "Act before the period ends: review the largest tasks and the team's models.", (), job=_C, other=_COST),
    CheckInfo("budget.task_cap", "Task cost above the per-task cap", "Review the task with its user; set a per-task cost limit in the agent's auto-approval settings.", (), job=_C, other=_COST),
    CheckInfo("cost.drift_provider", "Provider-reported cost differs from list prices", "Compare the provider invoice with the recomputed cost; update the price table or the provider's pricing.", (), job=_C, other=_COST),
    CheckInfo("cost.drift_task", "Task cost differs from list prices", "Check the task's requests in task_costs.csv; a large drift can be a wrong price or a misreported usage.", (), job=_C, other=_COST),
    CheckInfo("cost.unpriced_model", "Model without a price", "Add the model's price to budgets.prices in the configuration.", (), job="", other=_COST),
    CheckInfo("anomaly.robust_z", "Unusual spend for a user", "Ask the user what the spend was for.", ("CC7.2",), job="", other=_COST),
    CheckInfo("anomaly.week_over_week", "Spend up week over week", "Ask the team what changed.", ("CC7.2",), job="", other=_COST),
    CheckInfo("input.quality_gate", "Days refused by the data quality gate", "Fix the telemetry-quality failures of those days and re-run both jobs.", ("PI1.2",), job=""),
    CheckInfo("input.quality_gate_forced", "Gate bypassed with --force", "Record why the gate was bypassed; re-run without --force once the data passes.", ("PI1.2",), job=""),
    CheckInfo("retention.redaction_verified", "Redacted copy still holds sensitive data", "Inspect the redacted copy, add a redaction rule for what was missed, then re-run log-retention.", ("C1.1", "P4.2"), job=_R),
    CheckInfo("retention.source_mark_unconfirmed", "Log marked redacted at the source was not", "Redacted here like any raw log; find out whether the machine's collector runs older redaction rules or the object was written with a forged mark.", ("C1.1", "P4.2"), job=_R),
    CheckInfo("retention.deletion_confirmed", "Deletion not confirmed", "Check the object's versions, Object Lock and the worker's s3:DeleteObjectVersion permission; re-run log-retention.", ("C1.2", "P4.3"), job=_R),
]  # fmt: skip
STATIC = {c.id: c for c in _STATIC}


@cache
def _access() -> dict[str, CheckInfo]:
    from tasks.access.registry import discover  # lazy: access imports the reports package

    out = {}
    for cid, cls in discover().items():
        m = cls.metadata
        out[cid] = CheckInfo(
            cid, m.title, m.remediation, tuple(m.mappings.soc2), tuple(m.mappings.cis_aws),
            job="access-review", description=m.description,
        )  # fmt: skip
    return out


def check_info(check: str) -> CheckInfo:
    """The check's entry; a dynamic id (quality.expectation.<name>) uses its family's."""
    if check in STATIC:
        return STATIC[check]
    if check in _access():
        return _access()[check]
    family = check.rsplit(".", 1)[0]
    if family in STATIC:
        base = STATIC[family]
        return CheckInfo(check, f"{base.title}: {check.rsplit('.', 1)[1]}", base.remediation, base.soc2, base.cis_aws, other=base.other)  # fmt: skip
    return CheckInfo(check, check.replace("_", " ").replace(".", ": "), "")


def job_checks(job: str) -> list[CheckInfo]:
    """The checks a job always evaluates (those that raise nothing when all is well)."""
    return [c for c in _STATIC if c.job == job]
