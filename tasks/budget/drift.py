"""Drift between stored (provider-reported) cost and our recomputation from the price table.

A drift finding needs both: a relative gap over `pct`% and an absolute gap over `floor_usd`.
Only requests that have both a stored cost and a price are compared.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget.config import DriftSettings
from tasks.budget.reader import key_column
from tasks.budget.spend import TaskCost
from tasks.common.models import Finding, Severity


def drifts(reported: float, recomputed: float, cfg: DriftSettings) -> bool:
    gap = abs(reported - recomputed)
    base = max(abs(recomputed), 1e-12)
    return gap > cfg.floor_usd and gap / base * 100 > cfg.pct


def _details(reported: float, recomputed: float) -> dict[str, float | None]:
    gap = reported - recomputed
    return {
        "reported_usd": round(reported, 6),
        "recomputed_usd": round(recomputed, 6),
        "drift_usd": round(gap, 6),
        "drift_pct": None if recomputed == 0 else round(gap / recomputed * 100, 2),
    }


def task_drift(tasks: dict[str, TaskCost], report_days: set, cfg: DriftSettings) -> list[Finding]:
    out = []
    for t in tasks.values():
        if t.first_day not in report_days or not t.compared_requests:
            continue
        if drifts(t.reported, t.recomputed, cfg):
            out.append(Finding.make(
                "cost.drift_task", Severity.low, "fail", f"task={t.task_id}",
                f"task {t.task_id}: reported ${t.reported:,.4f} vs recomputed ${t.recomputed:,.4f}",
                task_id=t.task_id, user=t.user, team=t.team, provider=t.provider, model=t.model,
                compared_requests=t.compared_requests, **_details(t.reported, t.recomputed),
            ))  # fmt: skip
    return out


def provider_drift(req: pa.Table, cfg: DriftSettings) -> tuple[list[Finding], list[dict]]:
    """Drift per (user, provider, model) -- a provider account that overcharges shows up
    even when others use the same model -- plus unpriced models (error findings).
    Also returns the per-(provider, model) totals for the report table."""
    if req.num_rows == 0:
        return [], []
    both = pc.and_(pc.is_valid(req["cost"]), pc.is_valid(req["recomputed_cost"]))
    t = pa.table({
        "provider": key_column(req["provider"], "(unknown)"),
        "model": key_column(req["model"], "(unknown)"),
        "user": key_column(req["user"], "(unknown)"),
        "rep": pc.if_else(both, req["cost"], 0.0),
        "rec": pc.if_else(both, req["recomputed_cost"], 0.0),
        "cmp": both.cast(pa.int64()),
        "unpriced": pc.invert(req["priced"]).cast(pa.int64()),
        "eff": req["effective_cost"],
    })  # fmt: skip
    g = t.group_by(["provider", "model", "user"]).aggregate(
        [
            ("rep", "sum"),
            ("rec", "sum"),
            ("cmp", "sum"),
            ("unpriced", "sum"),
            ("eff", "sum"),
            ("eff", "count"),
        ]
    )
    findings: list[Finding] = []
    totals: dict[tuple[str, str], dict] = {}
    for r in g.to_pylist():
        key = (r["provider"], r["model"])
        tot = totals.setdefault(key, {"provider": key[0], "model": key[1]})
        for k in ("rep_sum", "rec_sum", "cmp_sum", "unpriced_sum", "eff_sum", "eff_count"):
            tot[k] = tot.get(k, 0) + r[k]
        if r["cmp_sum"] and drifts(r["rep_sum"], r["rec_sum"], cfg):
            findings.append(Finding.make(
                "cost.drift_provider", Severity.medium, "fail",
                f"user={r['user']}:provider={r['provider']}:model={r['model']}",
                f"{r['user']} on {r['provider']}/{r['model']}: reported ${r['rep_sum']:,.2f} vs recomputed ${r['rec_sum']:,.2f} over {r['cmp_sum']} requests",
                user=r["user"], provider=r["provider"], model=r["model"],
                compared_requests=r["cmp_sum"], **_details(r["rep_sum"], r["rec_sum"]),
            ))  # fmt: skip
    for tot in totals.values():
        if tot["unpriced_sum"]:
            findings.append(Finding.make(
                "cost.unpriced_model", Severity.low, "error", f"provider={tot['provider']}:model={tot['model']}",
                f"no price for {tot['provider']}/{tot['model']} ({tot['unpriced_sum']} requests): cost not recomputed; add it to budget.prices",
                provider=tot["provider"], model=tot["model"], requests=tot["unpriced_sum"],
            ))  # fmt: skip
    return findings, list(totals.values())
