"""fits.fit_many (IRLS, every group in one numpy pass) against the reference it replaced:
scipy's least_squares with the Cauchy loss, one call per group. On groups priced by a
real model with 1% noise and 10% of requests overcharged by 30%, the printed figures
(prices to 4 decimals, residual to 5, which prices are determined) are the same."""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from tasks.budget.fits import FIT_SCALE, MIN_COMPONENT_SHARE, NO_FIT, fit_many


def _scipy_fit(tokens: np.ndarray, cost: np.ndarray):
    used = (tokens > 0).sum(axis=0) >= 3
    a = tokens[:, used] / cost[:, None] / 1e6
    b = np.ones(len(cost))
    start = np.linalg.lstsq(a, b, rcond=None)[0]
    fit = least_squares(lambda p: a @ p - b, np.maximum(start, 1e-9), jac=lambda p: a,
                        bounds=(0, np.inf), loss="cauchy", f_scale=FIT_SCALE)  # fmt: skip
    prices = np.zeros(4)
    prices[used] = fit.x
    share = (tokens * prices).sum(axis=0) / (tokens @ prices).sum()
    return prices, share >= MIN_COMPONENT_SHARE, float(np.median(np.abs(a @ fit.x - 1)))


def _groups(n: int, seed: int = 5):
    rng = np.random.default_rng(seed)
    out = []
    for g in range(n):
        rows = int(rng.integers(8, 3_000))
        tokens = np.column_stack([
            rng.integers(500, 60_000, rows), rng.integers(50, 3_000, rows),
            rng.integers(0, 5_000, rows) * (g % 3 != 0), rng.integers(0, 40_000, rows),
        ]).astype(float)  # fmt: skip
        price = np.array([3.0, 15.0, 3.75, 0.3]) * rng.uniform(0.1, 5)
        cost = tokens @ price / 1e6 * rng.normal(1, 0.01, rows)
        cost[rng.random(rows) < 0.1] *= 1.3
        out.append((tokens, cost))
    return out


def test_batched_fits_print_what_scipy_printed():
    groups = _groups(60)
    for (tokens, cost), (prices, det, residual) in zip(groups, fit_many(groups), strict=True):
        want_prices, want_det, want_residual = _scipy_fit(tokens, cost)
        assert np.round(prices, 4).tolist() == np.round(want_prices, 4).tolist()
        assert det.tolist() == want_det.tolist()
        assert round(residual, 5) == round(want_residual, 5)


def test_a_degenerate_group_has_no_fit_and_spoils_no_other():
    good = _groups(3)
    huge = (np.full((10, 4), 1e6), np.full(10, 1e-300))  # tokens / cost overflows
    out = fit_many([good[0], huge, good[1], (np.zeros((10, 4)), np.full(10, 0.01)), good[2]])
    assert out[1] is NO_FIT and out[3] is NO_FIT
    assert all(f[1].any() for f in (out[0], out[2], out[4]))
