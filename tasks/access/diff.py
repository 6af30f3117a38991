"""What changed since the last review: grants and open findings, new/removed/changed."""

from __future__ import annotations

from typing import Any

from tasks.access.grants import Grant
from tasks.common.models import Finding, FindingStatus


def _diff(
    prev: dict[str, dict[str, Any]], cur: dict[str, dict[str, Any]], fields: tuple[str, ...]
) -> dict[str, list]:
    new = sorted(set(cur) - set(prev))
    removed = sorted(set(prev) - set(cur))
    changed = []
    for key in sorted(set(cur) & set(prev)):
        delta = {
            f: [prev[key].get(f), cur[key].get(f)]
            for f in fields
            if prev[key].get(f) != cur[key].get(f)
        }
        if delta:
            changed.append({"id": key, "resource": cur[key].get("resource"), "changes": delta})
    return {
        "new": [
            {
                "id": k,
                "resource": cur[k].get("resource"),
                "check": cur[k].get("check") or cur[k].get("kind"),
            }
            for k in new
        ],
        "removed": [
            {
                "id": k,
                "resource": prev[k].get("resource"),
                "check": prev[k].get("check") or prev[k].get("kind"),
            }
            for k in removed
        ],
        "changed": changed,
    }


def _open(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f["id"]: {**f, "muted": bool((f.get("details") or {}).get("muted"))}
        for f in findings
        if f.get("status") != FindingStatus.passed.value
    }


def diff_review(
    prev_findings: list[dict[str, Any]],
    prev_grants: list[dict[str, Any]],
    findings: list[Finding],
    grants: list[Grant],
) -> dict[str, Any]:
    cur_f = _open([f.model_dump(mode="json") for f in findings])
    cur_g = {g.id: g.model_dump(mode="json") for g in grants}
    result = {
        "findings": _diff(_open(prev_findings), cur_f, ("severity", "status", "message", "muted")),
        "grants": _diff({g["id"]: g for g in prev_grants}, cur_g, ("detail", "subject", "team")),
    }
    new_ids = {n["id"] for n in result["findings"]["new"]}
    for f in findings:  # mark in the report too, so a reader sees what is new at a glance
        if f.id in new_ids:
            f.details["new_since_last_review"] = True
    return result


def diff_counts(diff: dict[str, Any] | None) -> dict[str, int]:
    if not diff:
        return {}
    return {
        f"{part}_{kind}": len(diff[part][kind])
        for part in ("findings", "grants")
        for kind in ("new", "removed", "changed")
    }
