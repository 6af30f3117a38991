"""Drift between stored (provider-reported) cost and our recomputation from the price table.

A drift finding needs both: a relative gap over `pct`% and an absolute gap over `floor_usd`.
Only requests that have both a stored cost and a price are compared.

Two checks, each saying what found it (`found_by`): against the price table
(`cost.drift_task`, `price_table`: needs a named or inferred model) and against the
prices fitted to the task's own group of requests (`cost.drift_fit`, `fitted_prices`:
needs no model at all, models.py).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget import task_table
from tasks.budget.config import DriftSettings
from tasks.budget.reader import key_column, plain
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


def task_drift(
    tasks: pa.Table, report_days: set, cfg: DriftSettings, req: pa.Table | None = None
) -> list[Finding]:
    """Root tasks of the report days (task_table) whose reported and recomputed costs
    differ (`drifts`, vectorised: only the drifting tasks become Python values). `req`:
    the requests, for how each drifting task's model was named (its last request's
    model_source, models.resolve)."""
    t = task_table.in_days(tasks, report_days)
    if t.num_rows == 0:
        return []
    rep, rec = task_table.figure(t, "reported"), task_table.figure(t, "recomputed")
    gap = np.abs(rep - rec)
    base = np.maximum(np.abs(rec), 1e-12)
    with np.errstate(invalid="ignore"):
        hit = (task_table.figure(t, "compared_requests") > 0) & (gap > cfg.floor_usd)
        hit &= gap / base * 100 > cfg.pct
    t = t.filter(pa.array(hit))
    sources = _last_sources(req, t["task_id"]) if req is not None else {}
    out = []
    for r in task_table.rows(t):
        out.append(Finding.make(
            "cost.drift_task", Severity.low, "fail", f"task={r['task_id']}",
            f"task {r['task_id']}: reported ${r['reported']:,.4f} vs recomputed ${r['recomputed']:,.4f}",
            task_id=r["task_id"], user=r["user"], team=r["team"], provider=r["provider"],
            model=r["model"], compared_requests=r["compared_requests"], found_by="price_table",
            model_source=sources.get(r["task_id"]), **_details(r["reported"], r["recomputed"]),
        ))  # fmt: skip
    return out


def _last_sources(req: pa.Table, task_ids: pa.ChunkedArray) -> dict[str, str]:
    """task id -> how its model was named (its last request's model_source, "unknown"
    when none was), for the given tasks only."""
    if req.num_rows == 0 or len(task_ids) == 0 or "model_source" not in req.column_names:
        return {}
    mine = req.filter(pc.fill_null(pc.is_in(req["task_id"], value_set=task_ids), False))
    src = pc.fill_null(plain(mine["model_source"]), "unknown").to_pylist()
    return dict(zip(mine["task_id"].to_pylist(), src, strict=True))


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
    g = t.group_by(["provider", "model", "user"], use_threads=False).aggregate(
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
    rows = list(totals.values())
    return findings + unpriced_findings(rows), rows


def unpriced_findings(totals: list[dict]) -> list[Finding]:
    """One error finding per (provider, model) with requests no price could recompute
    (`totals`: provider_drift's per-(provider, model) rows, merged across shards)."""
    out = []
    for tot in totals:
        if tot["unpriced_sum"]:
            out.append(Finding.make(
                "cost.unpriced_model", Severity.low, "error", f"provider={tot['provider']}:model={tot['model']}",
                f"no price for {tot['provider']}/{tot['model']} ({tot['unpriced_sum']} requests): cost not recomputed; add it to budget.prices",
                provider=tot["provider"], model=tot["model"], requests=tot["unpriced_sum"],
            ))  # fmt: skip
    return out


def fit_drift(req: pa.Table, report_days: set, cfg: DriftSettings, fits: list) -> list[Finding]:
    """Per task (its own requests), reported cost against its group's fitted prices."""
    ok = pc.and_(pc.is_valid(req["cost"]), pc.is_valid(req["fitted_cost"]))
    if req.num_rows == 0 or not pc.any(ok).as_py():
        return []
    t = req.filter(ok)
    g = pa.table({
        "task_id": t["task_id"], "rep": t["cost"], "fit": t["fitted_cost"],
        "day": t["day"], "user": key_column(t["user"], "(unknown)"),
        "cfg": key_column(t["api_config"], "(none)"),
        "model": key_column(t["model"], "(unknown)"),
        "src": key_column(t["model_source"], "(unknown)"),
        "grp": t["fit_group"],  # the fit that priced the request (models.resolve)
    }).group_by(["task_id", "user", "cfg", "model", "src", "grp"], use_threads=False).aggregate(
        [("rep", "sum"), ("fit", "sum"), ("fit", "count"), ("day", "min")]
    )  # fmt: skip
    rep, fit_sum = g["rep_sum"].to_numpy(), g["fit_sum"].to_numpy()
    gap = np.abs(rep - fit_sum)
    with np.errstate(invalid="ignore"):  # drifts(), vectorised: only drifting rows go on
        hit = (gap > cfg.floor_usd) & (gap / np.maximum(np.abs(fit_sum), 1e-12) * 100 > cfg.pct)
    in_days = pc.is_in(g["day_min"], pa.array(sorted(report_days), pa.date32()))
    g = g.filter(pc.and_(pa.array(hit), pc.fill_null(in_days, False)))
    out = []
    for r in g.to_pylist():
        fit = fits[r["grp"]]
        model = None if r["src"] == "(unknown)" else r["model"]
        named = f"{model} ({r['src']})" if model else "no model named"
        out.append(Finding.make(
            "cost.drift_fit", Severity.low, "fail", f"task={r['task_id']}",
            f"task {r['task_id']}: reported ${r['rep_sum']:,.4f} vs ${r['fit_sum']:,.4f} at the "
            f"prices fitted to {r['user']}'s {r['cfg']} requests ({named})",
            task_id=r["task_id"], user=r["user"], model=model, model_source=r["src"],
            found_by="fitted_prices", compared_requests=r["fit_count"],
            **_details(r["rep_sum"], r["fit_sum"]), **_fit_details(fit),
        ))  # fmt: skip
    return out


def _fit_details(fit) -> dict:
    return {k: v for k, v in fit.details().items() if k != "user"} if fit else {}
