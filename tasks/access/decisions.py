"""Reviewer decisions on a campaign: certify or revoke, justified, never self-reviewed."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.access.campaign import CampaignItem
from tasks.common.errors import InputError
from tasks.common.models import Finding, FindingStatus, Severity, to_utc

DECISION_COLUMNS = ["item_id", "reviewer", "decision", "justification"]
DECISIONS = {"certify", "revoke"}
DECISION_CHECK = "access_review_decision"


@dataclass
class DecisionOutcome:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    remediation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "decisions_accepted": len(self.accepted),
            "decisions_rejected": len(self.rejected),
            "revocations": len(self.remediation),
        }


def parse_decisions(content: bytes, source: str) -> list[dict[str, str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in DECISION_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{source}: missing columns {missing}")
    return [
        {c: (row.get(c) or "").strip() for c in DECISION_COLUMNS} | {"line": str(n)}
        for n, row in enumerate(reader, start=2)
    ]


def _remediation(item: CampaignItem) -> dict[str, Any]:
    detail = json.loads(item.detail or "{}")
    if item.kind == "iam_access_key" and detail.get("key_id"):
        return {
            "item_id": item.item_id,
            "action": "deactivate_access_key",
            "aws_user": item.aws_user,
            "key_id": detail["key_id"],
            "automatic": True,
        }
    actions = {
        "iam_admin": "detach administrator policies",
        "iam_privilege_escalation": "remove privilege-escalation actions",
        "iam_access_key": "deactivate the access key",
        "roo_auto_execute": "turn off alwaysAllowExecute or narrow allowedCommands",
        "roo_write_outside_workspace": "turn off alwaysAllowWriteOutsideWorkspace/Protected",
        "roo_mcp_always_allow": "remove write tools from the MCP server's alwaysAllow",
    }
    return {
        "item_id": item.item_id,
        "action": actions.get(item.kind, "revoke manually"),
        "resource": item.resource,
        "subject": item.subject,
        "automatic": False,
    }


def apply_decisions(
    items: list[CampaignItem], decisions: list[dict[str, str]], now: datetime
) -> DecisionOutcome:
    by_id = {i.item_id: i for i in items}
    out = DecisionOutcome()
    decided: set[str] = set()

    def reject(d: dict[str, str], reason: str) -> None:
        out.rejected.append({**d, "reason": reason})

    for d in decisions:
        item = by_id.get(d["item_id"])
        reviewer = d["reviewer"].lower()
        if item is None:
            reject(d, "unknown item_id")
        elif d["decision"].lower() not in DECISIONS:
            reject(d, "decision must be certify or revoke")
        elif not d["justification"]:
            reject(d, "justification is required")
        elif reviewer and reviewer in {item.subject.lower(), item.aws_user.lower()} - {""}:
            reject(d, "self-review: a person cannot review their own access")
        elif reviewer != item.reviewer.lower():
            reject(d, f"not the assigned reviewer ({item.reviewer or 'unassigned'})")
        elif item.item_id in decided:
            reject(d, "duplicate decision for this item")
        else:
            decided.add(item.item_id)
            rec = {
                **d,
                "decision": d["decision"].lower(),
                "kind": item.kind,
                "resource": item.resource,
                "subject": item.subject,
                "decided_at": now.isoformat(),
            }
            out.accepted.append(rec)
            if rec["decision"] == "revoke":
                out.remediation.append(_remediation(item))
    for r in out.rejected:
        out.findings.append(
            Finding.make(
                DECISION_CHECK,
                Severity.medium,
                FindingStatus.error,
                f"campaign:{r['item_id'] or 'line ' + r['line']}",
                f"decision on line {r['line']} rejected: {r['reason']}",
                line=int(r["line"]),
            )
        )
    out.findings.extend(overdue_findings(items, decided, now))
    return out


def overdue_findings(items: list[CampaignItem], decided: set[str], now: datetime) -> list[Finding]:
    """A high finding for each campaign item past its due date without an accepted decision."""
    out = []
    for item in items:
        if item.item_id in decided:
            continue
        due = to_utc(datetime.fromisoformat(item.due.replace("Z", "+00:00")))
        if due < now:
            out.append(
                Finding.make(
                    "access_review_overdue",
                    Severity.high,
                    FindingStatus.fail,
                    item.resource,
                    f"review of {item.kind} for {item.subject or item.aws_user or 'unknown'} is past due ({item.due}), reviewer {item.reviewer or 'unassigned'}",
                    item_id=item.item_id,
                    reviewer=item.reviewer,
                    due=item.due,
                )
            )
    return out


def execute_remediation(
    iam_client: Any, remediation: list[dict[str, Any]], apply: bool = False
) -> list[dict[str, Any]]:
    """Deactivate revoked IAM keys when apply=True; otherwise report what would happen."""
    results = []
    for r in remediation:
        res = dict(r)
        if not r.get("automatic"):
            res["result"] = "manual"
        elif not apply:
            res["result"] = "dry-run"
        else:
            try:
                iam_client.update_access_key(
                    UserName=r["aws_user"], AccessKeyId=r["key_id"], Status="Inactive"
                )
                res["result"] = "deactivated"
            except Exception as exc:  # one failure must not stop the other revocations
                res["result"] = f"failed: {type(exc).__name__}"
        results.append(res)
    return results
