"""Findings over a day's ledger, and its summary. Pure functions of the entries."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tasks.audit.model import KINDS
from tasks.common.bursts import WriteBurstConfig, burst_threshold, sliding_counts
from tasks.common.models import Finding, FindingStatus, Severity
from tasks.common.workspace import write_escapes

MAX_IDS = 50  # entry ids listed in one finding; the count says how many there were


def outside_workspace_findings(entries: list[dict[str, Any]]) -> tuple[list[Finding], int]:
    """One finding per (user, task, path) written outside its workspace; and the count of
    writes whose place could not be told (no path)."""
    hits: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    unknown = 0
    for e in entries:
        if e["kind"] != "file_write":
            continue
        verdict = write_escapes(e["path"], e["workspace"])
        if verdict is None:
            unknown += 1
        elif verdict:
            hits[(e["user"], e["task_id"], e["path"])].append(e)
    findings = [
        Finding.make(
            "audit.write_outside_workspace",
            Severity.high,
            FindingStatus.fail,
            f"{user} task {task} path {path}",
            f"{len(es)} write(s) to {path} outside workspace {es[0]['workspace'] or '(unknown)'}",
            user=user,
            team=es[0]["team"],
            task_id=task,
            path=path,
            workspace=es[0]["workspace"],
            writes=len(es),
            entry_ids=[e["entry_id"] for e in es][:MAX_IDS],
            auto_approved=any(e["auto_approved"] for e in es),
        )
        for (user, task, path), es in sorted(hits.items())
    ]
    return findings, unknown


def denied_command_findings(
    entries: list[dict[str, Any]], denied: list[tuple[str, str]]
) -> list[Finding]:
    """One finding per (user, task, deny pattern, stored command), with its entries."""
    by_id = {e["entry_id"]: e for e in entries}
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for eid, pattern in denied:
        e = by_id[eid]
        groups[(e["user"] or "", e["task_id"] or "", pattern, e["command"] or "")].append(e)
    findings = []
    for (user, task, pattern, command), es in sorted(groups.items()):
        findings.append(
            Finding.make(
                "audit.denied_command",
                Severity.high,
                FindingStatus.fail,
                f"{user} task {task} pattern {pattern} command {command}",
                f"{len(es)} command(s) match deny pattern {pattern!r}: {command}",
                user=user,
                team=es[0]["team"],
                task_id=task,
                first_ts=es[0]["ts"],
                command=command,  # the redacted form stored in the ledger
                pattern=pattern,
                count=len(es),
                auto_approved=any(e["auto_approved"] for e in es),
                entry_ids=[e["entry_id"] for e in es][:MAX_IDS],
            )
        )
    return findings


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


class BurstTimes:
    """Each user's file-write times (epoch ms), gathered a batch or a user at a time, so the
    burst rule (tasks/common/bursts.py: a user's peak against max(writes, factor x the other
    users' typical count)) runs once over everyone: 8 bytes per write, never the entries."""

    def __init__(self) -> None:
        self.times: dict[str, list[np.ndarray]] = defaultdict(list)
        self.teams: dict[str, str | None] = {}

    def add(self, entries: Iterable[dict[str, Any]]) -> BurstTimes:
        batch: dict[str, list[int]] = defaultdict(list)
        for e in entries:
            if e["kind"] == "file_write" and e["ts"]:
                batch[e["user"]].append(round(_epoch(e["ts"]) * 1000))
                self.teams[e["user"]] = e["team"]
        for user, ts in batch.items():
            self.times[user].append(np.asarray(ts, dtype=np.int64))
        return self

    def findings(self, rule: WriteBurstConfig) -> list[Finding]:
        times = {u: np.sort(np.concatenate(parts)) for u, parts in self.times.items()}
        window_ms = rule.window_seconds * 1000
        counts = {u: sliding_counts(ts, window_ms) for u, ts in times.items()}
        findings = []
        for user in sorted(counts):
            n = counts[user]
            peak = int(n.max())
            if peak < rule.writes:
                continue
            others = [c for u, c in counts.items() if u != user]
            base, threshold = burst_threshold(
                rule.writes, rule.factor, np.concatenate(others) if others else np.empty(0)
            )
            if peak < threshold:
                continue
            end = int(n.argmax())
            start = datetime.fromtimestamp(int(times[user][end - peak + 1]) / 1000, UTC)
            findings.append(
                Finding.make(
                    "audit.write_burst",
                    Severity.medium,
                    FindingStatus.fail,
                    user,
                    f"{peak} file writes within {rule.window_seconds}s (fires at >= max("
                    f"{rule.writes}, {rule.factor:g} x {base:g} typical for other users) = "
                    f"{threshold:g})",
                    user=user,
                    team=self.teams[user],
                    writes=peak,
                    baseline=base,
                    threshold=threshold,
                    window_start=start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    window_seconds=rule.window_seconds,
                )
            )
        return findings


def write_burst_findings(
    entries: Iterable[dict[str, Any]], rule: WriteBurstConfig
) -> list[Finding]:
    """The burst rule over a list of ledger entries (the in-memory reference path)."""
    return BurstTimes().add(entries).findings(rule)


def summary_counts(entries: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind = Counter(e["kind"] for e in entries)
    by_user: dict[str, Counter] = defaultdict(Counter)
    for e in entries:
        by_user[e["user"] or "(unknown)"][e["kind"]] += 1
    return {
        "entries": len(entries),
        "by_kind": {k: by_kind.get(k, 0) for k in KINDS},
        "by_user": {u: dict(sorted(c.items())) for u, c in sorted(by_user.items())},
        "auto_approved": sum(1 for e in entries if e["auto_approved"] is True),
        "auto_approval_unknown": sum(1 for e in entries if e["auto_approved"] is None),
    }
