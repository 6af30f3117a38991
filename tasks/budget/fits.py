"""Per-token prices fitted to reported costs, many groups at once (numpy).

A group's fit: prices p >= 0 (USD per million: uncached input, output, cache writes,
cache reads) minimising sum(log(1 + (r_i / FIT_SCALE)^2)) over its requests, where
r_i = tokens_i . p / 1e6 / cost_i - 1 is the request's relative residual (Cauchy loss:
a minority of drifted requests barely moves the fit). Solved by iteratively reweighted
least squares — each step a weighted least-squares problem with weights
1 / (1 + (r_i / FIT_SCALE)^2), a step that never increases the loss, so it settles on a
stationary point of the same objective scipy's least_squares(loss="cauchy") minimises,
from the same start (the plain least-squares prices). The groups of a batch are stacked
(padded rows weigh 0), so one numpy pass serves hundreds of groups: the fits were
3,000 scipy calls of a few ms each.
"""

from __future__ import annotations

import numpy as np

MAX_FIT_ROWS = 5_000  # requests a fit reads at most (a sample of bigger groups)
MIN_COMPONENT_SHARE = 0.02  # a price is well determined when it carries >= 2% of the cost
FIT_SCALE = 0.02  # residuals beyond ~2% weigh less and less (Cauchy loss)
BATCH_CELLS = 1_000_000  # groups x padded rows per numpy batch (~130 MB of work arrays)
MAX_STEPS = 2_000
TOLERANCE = 1e-13  # relative change of the prices that ends the iterations

Fit = tuple[np.ndarray, np.ndarray, float]  # prices, determined flags, median |residual|
NO_FIT: Fit = (np.zeros(4), np.zeros(4, dtype=bool), float("inf"))


def _design(tokens: np.ndarray, cost: np.ndarray) -> tuple | None:
    """(tokens / cost / 1e6 with the unsupported columns zeroed, the tokens, the columns
    used) of a group's (sampled) requests, or None when there is nothing to fit."""
    used = (tokens > 0).sum(axis=0) >= 3
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        a = tokens / cost[:, None] / 1e6
    a[:, ~used] = 0.0
    with np.errstate(over="ignore"):  # the normal equations hold squares of `a`
        finite = np.isfinite(a).all() and np.isfinite((a * a).sum(axis=0)).all()
    if not used.any() or not finite:  # nothing to fit, or costs near zero
        return None
    return a, tokens, used


def sample(tokens: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_FIT_ROWS evenly spaced requests: the prices do not need every one."""
    if len(cost) > MAX_FIT_ROWS:
        pick = np.linspace(0, len(cost) - 1, MAX_FIT_ROWS).astype(np.int64)
        return tokens[pick], cost[pick]
    return tokens, cost


def fit_many(groups: list[tuple[np.ndarray, np.ndarray]]) -> list[Fit]:
    """Each group's (tokens n x 4, cost > 0) fit, in the order given."""
    out: list[Fit] = [NO_FIT] * len(groups)
    todo = []
    for i, (tokens, cost) in enumerate(groups):
        d = _design(*sample(tokens, cost))
        if d is not None:
            todo.append((i, *d))
    todo.sort(key=lambda t: len(t[1]))  # similar lengths together: little padding
    start = 0
    while start < len(todo):
        longest, stop = len(todo[start][1]), start
        while stop < len(todo) and (stop - start + 1) * len(todo[stop][1]) <= max(
            BATCH_CELLS, longest
        ):
            longest = len(todo[stop][1])
            stop += 1
        batch = todo[start:stop]
        for (i, *_), fit in zip(batch, _fit_guarded([t[1:] for t in batch]), strict=True):
            out[i] = fit
        start = stop
    return out


def _fit_guarded(problems: list[tuple]) -> list[Fit]:
    """A batch's fits; when the batch's linear algebra fails (degenerate figures), each
    group alone, and a group that fails alone has no fit."""
    try:
        fits = _fit_batch(problems)
    except np.linalg.LinAlgError:
        if len(problems) == 1:
            return [NO_FIT]
        return [f for p in problems for f in _fit_guarded([p])]
    return [f if np.isfinite(f[0]).all() else NO_FIT for f in fits]


def _solve(a: np.ndarray, w: np.ndarray, free: np.ndarray) -> np.ndarray:
    """argmin sum w (a p - 1)^2 over the free prices (the others 0), per group."""
    aw = a * w[:, :, None]
    m = aw.transpose(0, 2, 1) @ a  # batched matmul (BLAS), not einsum's loops
    rhs = aw.sum(axis=1)
    fixed = ~free
    m[fixed[:, :, None] | fixed[:, None, :]] = 0.0
    b_idx, c_idx = np.nonzero(fixed)
    m[b_idx, c_idx, c_idx] = 1.0
    rhs[fixed] = 0.0
    try:
        return np.linalg.solve(m, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # collinear token columns: the least-norm solution
        return (np.linalg.pinv(m) @ rhs[:, :, None])[:, :, 0]


def _fit_batch(problems: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[Fit]:
    n_groups, length = len(problems), max(len(p[0]) for p in problems)
    a = np.zeros((n_groups, length, 4))
    valid = np.zeros((n_groups, length))
    free = np.zeros((n_groups, 4), dtype=bool)
    for g, (rows, _tokens, used) in enumerate(problems):
        a[g, : len(rows)] = rows
        valid[g, : len(rows)] = 1.0
        free[g] = used
    # columns scaled to unit norm: the normal equations stay well conditioned
    scale = np.sqrt((a * a).sum(axis=1))
    scale[scale == 0] = 1.0
    a /= scale[:, None, :]
    p = np.maximum(_solve(a, valid, free), 1e-9 * scale) * free  # least_squares' start
    live = np.arange(n_groups)  # groups still moving: only they are stepped
    for _ in range(MAX_STEPS):
        al, pl, fl = a[live], p[live], free[live]
        r = (al @ pl[:, :, None])[:, :, 0] - 1.0
        w = valid[live] / (1.0 + (r / FIT_SCALE) ** 2)
        new = _solve(al, w, fl)
        negative = fl & (new < 0)
        if negative.any():  # a price the data pushes below zero is held at its bound
            fl &= ~negative
            free[live] = fl
            new = _solve(al, w, fl)
        change = np.abs(new - pl).max(axis=1) / np.maximum(np.abs(new).max(axis=1), 1e-300)
        p[live] = new
        live = live[change > TOLERANCE]
        if len(live) == 0:
            break
    prices = p / scale
    fits = []
    for g, (rows, tokens, _used) in enumerate(problems):
        price = prices[g]
        share = (tokens * price).sum(axis=0) / max(float((tokens @ price).sum()), 1e-12)
        residual = float(np.median(np.abs(rows @ price - 1)))
        fits.append((price, share >= MIN_COMPONENT_SHARE, residual))
    return fits
