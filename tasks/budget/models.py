"""The model of a request when the data does not name it, and prices fitted from costs.

In this order (`model_source` on every request):
1. `telemetry`: the task's telemetry names provider and model (ingestion joins it).
2. `settings`: the user's collected settings export names the model of the profile the
   task ran with (HistoryItem.apiConfigName -> providerProfiles.apiConfigs[name]).
3. `inferred`: per (user, apiConfigName, protocol) group, per-token prices are fitted by
   robust regression (fits.py: Cauchy loss on relative residuals, prices >= 0, every
   group in one numpy pass) of the reported cost on the four token counts, and matched to the price table:
   the nearest model whose every well-determined price is within `tolerance`, protocol
   respected. The fit's residual and support travel with it.

Every group with enough support keeps its fitted prices (`fitted_cost` per request), so
a task whose reported cost departs from its own group's prices is a drift finding even
when no model could be named (drift.fit_drift).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget.fits import Fit, fit_many
from tasks.budget.prices import Price, PriceTable
from tasks.budget.reader import key_column, plain
from tasks.common.layout import RAW_ROO
from tasks.common.storage import get_or_none

MIN_REQUESTS = 8  # a group needs this many priced requests to be fitted
UNKNOWN = "(none)"
# genai-prices providers that speak Roo Code's Anthropic protocol (getApiProtocol)
ANTHROPIC_PROVIDERS = {"anthropic", "aws", "minimax"}


@dataclass
class GroupFit:
    user: str
    api_config: str
    protocol: str
    requests: int
    tasks: int
    prices: list[float]  # fitted USD per million: input, output, cache write, cache read
    determined: list[bool]  # which prices the data pins down (share of cost)
    residual: float  # median |fitted / reported - 1| over the group's requests
    model: str | None = None  # matched price-table model, when one is within tolerance
    provider: str | None = None
    distance: float | None = None  # max relative gap over the determined prices
    equally_near: int = 0  # other table models with the very same prices
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False)
    code: int = -1  # the group's code (fit_groups), -1 for a one-task fit
    group: int = -1  # index of the group's fit in resolve's list (a one-task fit: its group's)

    def details(self) -> dict[str, Any]:
        return {
            "user": self.user, "api_config": self.api_config, "protocol": self.protocol,
            "fitted_prices": [round(p, 4) for p in self.prices],
            "fit_residual": round(self.residual, 5), "fit_requests": self.requests,
            "fit_tasks": self.tasks, "inferred_model": self.model,
            "inferred_provider": self.provider,
            "match_distance": None if self.distance is None else round(self.distance, 4),
            "equally_near": self.equally_near,
        }  # fmt: skip


def profile_models(client: Any, bucket: str, users: list[str]) -> dict[tuple[str, str], tuple]:
    """{(user, profile name): (provider, model id)} from each user's collected settings
    export. Only provider and model ids are kept (the file also holds API keys); a
    missing or malformed file is skipped: the model is then inferred. A refused read (403,
    5xx) is not "missing": it stops the run (one line)."""
    out: dict[tuple[str, str], tuple] = {}
    for user in users:
        key = f"{RAW_ROO}{user}/settings/roo-code-settings.json"
        body = get_or_none(client, bucket, key)
        if body is None:
            continue
        try:
            configs = orjson.loads(body)["providerProfiles"]["apiConfigs"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        for name, cfg in configs.items() if isinstance(configs, dict) else ():
            model = _model_id(cfg) if isinstance(cfg, dict) else None
            if model:  # the settings file is user data: a non-string provider is no provider
                prov = cfg.get("apiProvider")
                out[(user, name)] = (prov if isinstance(prov, str) and prov else None, model)
    return out


def _model_id(cfg: dict[str, Any]) -> str | None:
    if isinstance(cfg.get("apiModelId"), str) and cfg["apiModelId"]:
        return cfg["apiModelId"]
    for k, v in cfg.items():  # openRouterModelId, openAiModelId, ollamaModelId, …
        if k.endswith("ModelId") and isinstance(v, str) and v:
            return v
    return None


def fit_prices(tokens: np.ndarray, cost: np.ndarray) -> Fit:
    """(Prices per million, determined flags, median |relative residual|) of cost ~ tokens
    for one group (fits.fit_many: `tokens` n x 4 — uncached input, output, cache writes,
    cache reads — and `cost` > 0)."""
    return fit_many([(tokens, cost)])[0]


@cache
def _table_models(at_key: str, table: PriceTable) -> list[tuple[str, str, Price]]:
    """Every (provider, model, price) of the pinned table, plus the config overrides."""
    from genai_prices import data_snapshot

    from tasks.budget.prices import _base

    out = [(p or "(any)", m, price) for (p, m), price in table.overrides().items()]
    for prov in data_snapshot.get_snapshot().providers:
        for model in prov.models:
            try:
                mp = model.get_prices(table.at)
            except Exception:
                continue
            if mp.input_mtok is None or mp.output_mtok is None:
                continue
            price = Price(_base(mp.input_mtok), _base(mp.output_mtok),
                          _base(mp.cache_write_mtok), _base(mp.cache_read_mtok))  # fmt: skip
            out.append((prov.id, model.id, price))
    return out


def _speaks(provider: str, model: str, protocol: str) -> bool:
    anthropic = provider in ANTHROPIC_PROVIDERS or (provider == "google" and "claude" in model)
    if protocol == "anthropic":
        return anthropic
    if protocol == "openai":
        return not anthropic
    return True


def match(fit: GroupFit, table: PriceTable, tolerance: float) -> None:
    """Name the nearest table model within `tolerance` (relative, on every determined
    price); ties (models with identical prices) are counted in `equally_near`. A fit that
    determines no price names nothing (every model would be "equally near")."""
    if not any(fit.determined):
        return
    best: list[tuple[float, str, str]] = []
    for provider, model, price in _table_models(table.at.isoformat(), table):
        if not _speaks(provider, model, fit.protocol):
            continue
        vec = (price.input, price.output, price.cache_write, price.cache_read)
        gap = 0.0
        for f, t, det in zip(fit.prices, vec, fit.determined, strict=True):
            if det:
                gap = max(gap, abs(f - t) / t if t > 0 else float("inf"))
        if gap <= tolerance:
            best.append((round(gap, 9), provider, model))
    if best:
        best.sort()
        fit.distance, fit.provider, fit.model = best[0]
        fit.equally_near = sum(1 for b in best[1:] if b[0] == best[0][0])


def fit_groups(
    req: pa.Table, uncached: np.ndarray
) -> tuple[list[GroupFit], np.ndarray, np.ndarray, np.ndarray]:
    """Fit every (user, api_config, protocol, named model) group with enough requests
    that carry a reported cost; the unnamed ones are the ones to match."""
    cost = req["cost"].to_numpy(zero_copy_only=False).astype(float)
    ok = np.isfinite(cost) & (cost > 0)
    ok &= pc.fill_null(pc.equal(req["category"], "api_request"), False).to_numpy(
        zero_copy_only=False
    )
    parts = [
        key_column(req[c], UNKNOWN, decode=True)
        for c in ("user", "api_config", "stored_protocol", "model")
    ]
    joined = pc.binary_join_element_wise(*parts, "\x1f")
    codes = pc.dictionary_encode(joined)
    idx = codes.indices.to_numpy(zero_copy_only=False)
    names = codes.dictionary.to_pylist()
    tokens = np.column_stack(
        [uncached]
        + [
            pc.fill_null(req[c], 0).to_numpy(zero_copy_only=False).astype(float)
            for c in ("tokens_out", "cache_writes", "cache_reads")
        ]
    )
    task_codes = pc.dictionary_encode(
        key_column(req["task_id"], UNKNOWN, decode=True)
    ).indices.to_numpy(zero_copy_only=False)
    rows_ok = np.flatnonzero(ok)
    order = rows_ok[np.argsort(idx[rows_ok], kind="stable")]
    bounds = np.flatnonzero(np.diff(idx[order])) + 1
    groups = [r for r in (np.split(order, bounds) if len(order) else []) if len(r) >= MIN_REQUESTS]
    fits = []
    for rows, (prices, det, residual) in zip(
        groups, fit_many([(tokens[r], cost[r]) for r in groups]), strict=True
    ):
        if not det.any():  # a fit that pins down no price is no basis for drift or a name
            continue
        user, config, protocol, _model = names[idx[rows[0]]].split("\x1f")
        ntasks = len(np.unique(task_codes[rows]))
        fits.append(GroupFit(user, config, protocol, len(rows), ntasks, prices.tolist(),
                             det.tolist(), residual, rows=rows, code=int(idx[rows[0]])))  # fmt: skip
    return fits, tokens, idx, task_codes


def fitted_cost(n: int, fits: list[GroupFit], tokens: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Per request, its cost at the prices of the fit that covers it and that fit's group
    (index in resolve's list); both null outside fitted groups. Later fits win (a task
    refit after its group)."""
    out = np.full(n, np.nan)
    grp = np.full(n, -1, np.int32)
    for f in fits:
        out[f.rows] = tokens[f.rows] @ np.asarray(f.prices) / 1e6
        grp[f.rows] = f.group
    return pa.array(out, pa.float64(), mask=np.isnan(out)), pa.array(grp, mask=grp < 0)


def resolve(
    req: pa.Table,
    prices: PriceTable,
    profiles: dict[tuple[str, str], tuple] | None,
    tolerance: float,
    task_tolerance: float = 0.025,
) -> tuple[pa.Table, list[GroupFit]]:
    """Name each request's model (model_source), recompute costs, fit every group.

    `task_tolerance`: a task off its group's prices takes another table model only when
    its own prices are this close to it (half the drift threshold: a cost that close to
    a priced model is not a drift).
    `req` has the task's columns filled in (api_config too); adds `model_source`,
    `stored_protocol`, `fitted_cost`, `fit_group` and cost.recompute's columns."""
    from tasks.budget.cost import recompute

    n = req.num_rows
    model = plain(req["model"])
    provider = plain(req["provider"])
    source = pc.if_else(pc.is_valid(model), "telemetry", pa.scalar(None, pa.string()))
    if profiles and pc.any(pc.is_null(model)).as_py():
        # (user, profile) -> row of the profile table; a null user or profile matches none
        keys = list(profiles)
        pos = pc.index_in(
            pc.binary_join_element_wise(plain(req["user"]), plain(req["api_config"]), "\x1f"),
            value_set=pa.array([f"{u}\x1f{c}" for u, c in keys], pa.string()),
        )
        hit = pc.and_(pc.is_null(model), pc.is_valid(pos))
        hit = pc.fill_null(hit, False)
        p_model = pc.take(pa.array([profiles[k][1] for k in keys], pa.string()), pos)
        p_prov = pc.take(pa.array([profiles[k][0] for k in keys], pa.string()), pos)
        model = pc.if_else(hit, p_model, model)
        provider = pc.if_else(hit, pc.coalesce(p_prov, provider), provider)
        source = pc.if_else(hit, "settings", source)
    req = _set(req, "model", model)
    req = _set(req, "provider", provider)
    req = _set(req, "stored_protocol", plain(req["api_protocol"]))
    out = recompute(req, prices)
    uncached = out["uncached_in"].to_numpy(zero_copy_only=False)
    fits, tokens, group, task_codes = fit_groups(out, uncached)
    for i, f in enumerate(fits):
        f.group = i
    named = pc.is_valid(out["model"]).to_numpy(zero_copy_only=False)
    cost = out["cost"].to_numpy(zero_copy_only=False).astype(float)
    chosen: dict[int, GroupFit] = {}  # group code -> its matched model
    task_fits: list[GroupFit] = []
    for f in fits:
        if not named[f.rows[0]]:
            match(f, prices, tolerance)
            if f.model is not None:
                chosen[f.code] = f
            task_fits += _task_refits(f, task_codes, tokens, cost, prices, task_tolerance)
    if chosen or task_fits:
        # every unnamed request of a matched group (with a cost or not) takes its model
        n_codes = int(group.max()) + 1 if n else 0
        by_code = [chosen.get(c) for c in range(n_codes)]
        take = pa.array(group, pa.int64())
        new_model = pc.take(pa.array([f.model if f else None for f in by_code], pa.string()), take)
        new_prov = pc.take(
            pa.array([f.provider if f else None for f in by_code], pa.string()), take
        )
        fill = pc.and_(pc.invert(pa.array(named)), pc.is_valid(new_model))
        model = pc.if_else(fill, new_model, plain(out["model"]))
        provider = pc.if_else(fill, new_prov, plain(out["provider"]))
        source = pc.if_else(fill, "inferred", source)
        if task_fits:  # a task of the group that ran another model
            rows = np.concatenate([t.rows for t in task_fits])  # disjoint: one task each
            which = np.repeat(np.arange(len(task_fits)), [len(t.rows) for t in task_fits])
            which = pa.array(which[np.argsort(rows, kind="stable")])  # in row order
            mask = np.zeros(n, bool)
            mask[rows] = True
            m = pa.array(mask)
            t_model = pc.take(pa.array([t.model for t in task_fits], pa.string()), which)
            t_prov = pc.take(pa.array([t.provider for t in task_fits], pa.string()), which)
            model = pc.replace_with_mask(model, m, t_model)
            provider = pc.replace_with_mask(provider, m, t_prov)
            source = pc.replace_with_mask(source, m, pa.array(["inferred"] * len(rows)))
        for f in [*chosen.values(), *task_fits]:
            prices.pin(f.provider, f.model, _table_price(prices, f.provider, f.model))
        out = _set(out, "model", model)
        out = _set(out, "provider", provider)
        out = recompute(out, prices)
    out = _set(out, "model_source", source)
    # a task that ran another model is measured against its own model's fit
    cost_at_fit, fit_group = fitted_cost(n, fits + task_fits, tokens)
    out = _set(out, "fitted_cost", cost_at_fit)
    out = _set(out, "fit_group", fit_group)
    return out, fits


def _task_refits(
    group: GroupFit,
    task_codes: np.ndarray,
    tokens: np.ndarray,
    cost: np.ndarray,
    prices: PriceTable,
    tolerance: float,
) -> list[GroupFit]:
    """Tasks of an unnamed group whose cost is off the group's prices but whose own
    requests fit another table model (same profile, another model: a spend spike on a
    bigger model, a profile switched mid-period) within `tolerance`: that model is
    theirs, not a drift. A task that fits no table model stays with the group (a drift
    candidate)."""
    rows = group.rows
    fitted = tokens[rows] @ np.asarray(group.prices) / 1e6
    codes = task_codes[rows]
    uniq, inv, counts = np.unique(codes, return_inverse=True, return_counts=True)
    rep = np.bincount(inv, weights=cost[rows])
    fit = np.bincount(inv, weights=fitted)
    off = (counts >= 3) & (np.abs(rep / np.maximum(fit, 1e-12) - 1) > 2 * tolerance)
    out = []
    for k in np.flatnonzero(off):
        own_rows = rows[inv == k]
        own, det, residual = fit_prices(tokens[own_rows], cost[own_rows])
        t = GroupFit(group.user, group.api_config, group.protocol, len(own_rows), 1,
                     own.tolist(), det.tolist(), residual, rows=own_rows, group=group.group)  # fmt: skip
        match(t, prices, tolerance)
        if t.model is not None:
            out.append(t)
    return out


def _table_price(table: PriceTable, provider: str, model: str) -> Price:
    for p, m, price in _table_models(table.at.isoformat(), table):
        if (p, m) == (provider, model):
            return price
    raise KeyError(model)  # cannot happen: the match came from this list


def _set(t: pa.Table, name: str, col: Any) -> pa.Table:
    if name in t.column_names:
        return t.set_column(t.schema.get_field_index(name), name, col)
    return t.append_column(name, col)
