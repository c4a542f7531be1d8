"""Weekly demand forecasts for a small maker's products: point forecasts with intervals.

A maker sells a few of each product a week, with many weeks of none, so each product's
own history says little about the year's peaks. The method used by the shop (``auto``)
therefore splits the work:

1. **Season, pooled.** A yearly profile (one multiplier per ISO week) is learnt from the
   summed sales of many products (the shop, or a category shrunk towards the shop's), and
   shrunk towards "no season" as far as the noise of those sums demands (empirical Bayes).
2. **Level, per product.** The product's sales divided by that profile are smoothed: with
   simple exponential smoothing (SES) when it sells most weeks, with TSB (Teunter–Syntetos–
   Babai: a smoothed chance of selling times a smoothed size) when sales are intermittent
   (mean interval between sales > 1.32 weeks, Syntetos–Boylan). Smoothing constants are
   chosen from a small grid by in-sample one-step squared error.
3. **Interval from a count distribution.** Weekly sales are counts, so the interval is
   that of a negative binomial with the forecast as mean and a variance estimated from the
   one-step in-sample errors (shrunk towards a shop-wide dispersion), widened with the
   horizon as the level's own uncertainty grows.

The baselines the backtest compares against (``mean``, ``snaive``) and the plain methods
(``ses``, ``sba``, ``tsb``) are here too, so that the comparison runs the same code.
Everything is numpy/scipy on float arrays; no money is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import stats

SEASON = 52
INTERMITTENT_ADI = 1.32
ALPHAS = (0.05, 0.1, 0.2, 0.3)
PROBABILITY_BETAS = (0.02, 0.05, 0.1, 0.2)
DEFAULT_DISPERSION = 0.3
DISPERSION_PRIOR_WEIGHT = 26.0
MAX_DISPERSION = 5.0
METHODS = ("mean", "snaive", "ses", "sba", "tsb", "auto_flat", "auto")
BASELINES = ("mean", "snaive")


@dataclass(frozen=True)
class Forecast:
    """Forecast of the next weeks: mean and variance of each week's demand, and the
    interval at the level asked for (bounds are whole units for the count methods)."""

    method: str
    mean: np.ndarray
    var: np.ndarray
    low: np.ndarray
    high: np.ndarray


def week_start(day: date) -> date:
    """The Monday of ``day``'s week: weeks run Monday to Sunday, as ISO weeks do."""
    return day - timedelta(days=day.weekday())


def week_of_year(monday: date) -> int:
    """0..51: the ISO week, with the rare week 53 folded onto week 52."""
    return min(monday.isocalendar().week, SEASON) - 1


def weeks_of_year(first_monday: date, count: int) -> np.ndarray:
    return np.array([week_of_year(first_monday + timedelta(weeks=i)) for i in range(count)],
                    dtype=int)


# --- the pooled yearly profile ---------------------------------------------------------

def _centred_level(total: np.ndarray) -> np.ndarray:
    """The 2x52 centred moving average (the classical decomposition's trend), held flat
    at the ends where the window does not fit."""
    n = len(total)
    if n <= SEASON:  # one year or less: no window to centre, its mean is the level
        return np.full(n, float(np.mean(total)))
    weights = np.ones(SEASON + 1)
    weights[0] = weights[-1] = 0.5
    weights /= SEASON
    inner = np.convolve(total, weights, mode="valid")  # index i is centred on i + 26
    level = np.empty(n)
    half = SEASON // 2
    level[half:half + len(inner)] = inner
    level[:half] = inner[0]
    level[half + len(inner):] = inner[-1]
    return level


def seasonal_profile(total: np.ndarray, woy: np.ndarray, *,
                     prior: np.ndarray | None = None) -> np.ndarray:
    """A multiplier per week of the year (mean 1) from a pooled weekly series.

    ``woy`` gives each week's week of the year. Ratios of sales to their centred yearly
    level are averaged per week of the year, smoothed over neighbouring weeks, then
    shrunk towards ``prior`` (no season by default) by how much of their spread the
    Poisson noise of the sums would explain: a shop with one sale a week gets a flat
    profile, one with fifty gets its Christmas. Less than a year of history tells season
    and trend apart for no week: the prior is returned.
    """
    base = np.ones(SEASON) if prior is None else prior
    if len(total) < SEASON or total.sum() <= 0:
        return base.copy()
    level = np.maximum(_centred_level(total.astype(float)), 1e-9)
    ratio = total / level
    sums = np.bincount(woy, weights=ratio, minlength=SEASON)
    counts = np.bincount(woy, minlength=SEASON)
    noise = np.bincount(woy, weights=1.0 / level, minlength=SEASON)  # Var(ratio) ≈ 1/level
    seen = counts > 0
    raw = base.copy()
    raw[seen] = sums[seen] / counts[seen]
    noise_var = np.full(SEASON, np.inf)
    noise_var[seen] = noise[seen] / counts[seen] ** 2
    kernel = np.array([0.25, 0.5, 0.25])
    smooth = sum(w * np.roll(raw, shift) for w, shift in zip(kernel, (1, 0, -1), strict=True))
    smooth_noise = sum(w * w * np.roll(np.where(seen, noise_var, 0.0), shift)
                       for w, shift in zip(kernel, (1, 0, -1), strict=True))
    deviation = smooth - base
    signal_var = max(float(np.mean(deviation ** 2) - np.mean(smooth_noise)), 0.0)
    shrink = signal_var / (signal_var + smooth_noise) if signal_var > 0 else np.zeros(SEASON)
    shrink = np.where(seen, shrink, 0.0)
    profile = np.maximum(base + shrink * deviation, 0.2)
    return profile / profile.mean()


# --- intervals -------------------------------------------------------------------------

def count_interval(mean: np.ndarray, var: np.ndarray, level: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """An interval of whole units holding at least ``level`` of a negative binomial's
    probability (Poisson when not over-dispersed) with this mean and variance.

    The low bound is the (1 − level)/2 quantile. A count cannot fall below zero, so for
    a product that often sells nothing that bound is 0 and leaves less than its share of
    probability below it: the high bound takes up the rest (it is the quantile at
    ``level`` plus what lies below the low bound), instead of being the symmetric
    quantile that would make the interval hold far more than ``level``.
    """
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    var = np.maximum(np.asarray(var, dtype=float), mean)
    tail = (1.0 - level) / 2.0
    low = np.zeros_like(mean)
    high = np.zeros_like(mean)
    positive = mean > 1e-9
    over = positive & (var > mean * (1 + 1e-6))
    poisson = positive & ~over
    for mask, dist in ((poisson, lambda m, v: stats.poisson(m)),
                       (over, lambda m, v: stats.nbinom(m ** 2 / (v - m), m / v))):
        if mask.any():
            law = dist(mean[mask], var[mask])
            low[mask] = law.ppf(tail)
            below = np.where(low[mask] > 0, law.cdf(low[mask] - 1), 0.0)
            high[mask] = law.ppf(np.minimum(level + below, 1 - 1e-12))
    return low, high


def count_quantile(mean: float, var: float, q: float) -> int:
    """The ``q`` quantile (q ≥ 0.5) of a count with this mean and variance: the upper
    bound of the central interval at level 2q − 1."""
    _, high = count_interval(np.array([mean]), np.array([var]), 2 * q - 1)
    return int(high[0])


def dispersion(y: np.ndarray, fitted: np.ndarray, *, burn_in: int = 4) -> tuple[float, int]:
    """(φ, weeks used) of Var = μ + φμ², by moments over the one-step in-sample errors."""
    mu, err = fitted[burn_in:], (y - fitted)[burn_in:]
    if len(mu) < 2 or float(np.sum(mu ** 2)) <= 1e-9:
        return DEFAULT_DISPERSION, 0
    phi = float(np.sum(err ** 2 - mu) / np.sum(mu ** 2))
    return float(np.clip(phi, 0.0, MAX_DISPERSION)), len(mu)


# --- level methods on one (deseasonalised) series --------------------------------------

def _ses_path(x: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """One-step fitted values and the final level of SES."""
    level = float(np.mean(x[:min(len(x), 8)]))
    fitted = np.empty(len(x))
    for t, value in enumerate(x):
        fitted[t] = level
        level += alpha * (value - level)
    return fitted, level


def _croston_path(x: np.ndarray, alpha: float, *, debias: bool) -> tuple[np.ndarray, float]:
    """Croston's method (SBA when ``debias``): smoothed size over smoothed interval."""
    nonzero = np.flatnonzero(x > 0)
    if len(nonzero) == 0:
        return np.zeros(len(x)), 0.0
    size = float(np.mean(x[nonzero]))
    interval = float(len(x) / len(nonzero))
    factor = 1 - alpha / 2 if debias else 1.0
    fitted = np.empty(len(x))
    since = 1
    for t, value in enumerate(x):
        fitted[t] = factor * size / interval
        if value > 0:
            size += alpha * (value - size)
            interval += alpha * (since - interval)
            since = 1
        else:
            since += 1
    return fitted, factor * size / interval


def _tsb_path(x: np.ndarray, alpha: float, beta: float) -> tuple[np.ndarray, float]:
    """TSB: the chance of a sale is updated every week (so a product that stopped selling
    fades out), the size only in weeks with a sale."""
    nonzero = x > 0
    if not nonzero.any():
        return np.zeros(len(x)), 0.0
    size = float(np.mean(x[nonzero]))
    prob = float(np.mean(nonzero[:min(len(x), 8)]))
    fitted = np.empty(len(x))
    for t, value in enumerate(x):
        fitted[t] = prob * size
        prob += beta * ((1.0 if value > 0 else 0.0) - prob)
        if value > 0:
            size += alpha * (value - size)
    return fitted, prob * size


@dataclass(frozen=True)
class _Fit:
    fitted: np.ndarray
    level: float
    alpha: float


def _best(fits: Sequence[_Fit], y: np.ndarray, season: np.ndarray) -> _Fit:
    burn = min(4, len(y) - 1)
    return min(fits, key=lambda f: float(np.mean((y[burn:] - f.fitted[burn:] * season[burn:])
                                                 ** 2)))


def _fit_level(method: str, y: np.ndarray, season: np.ndarray) -> _Fit:
    x = y / season
    if method == "ses":
        return _best([_Fit(*_ses_path(x, a), a) for a in ALPHAS], y, season)
    if method == "sba":
        return _best([_Fit(*_croston_path(x, a, debias=True), a) for a in ALPHAS], y, season)
    if method == "tsb":
        return _best([_Fit(*_tsb_path(x, a, b), max(a, b))
                      for a in ALPHAS for b in PROBABILITY_BETAS], y, season)
    raise ValueError(f"unknown level method {method!r}")


def is_intermittent(y: np.ndarray) -> bool:
    """Mean interval between weeks with a sale above 1.32 (Syntetos–Boylan)."""
    sales = int(np.count_nonzero(y))
    return sales == 0 or len(y) / sales > INTERMITTENT_ADI


# --- forecasting one series ------------------------------------------------------------

def _zero(method: str, horizon: int) -> Forecast:
    z = np.zeros(horizon)
    return Forecast(method, z, z.copy(), z.copy(), z.copy())


def _empirical(method: str, mean: np.ndarray, residuals: np.ndarray, scale: np.ndarray,
               level: float) -> Forecast:
    """Interval from quantiles of in-sample residuals, scaled for the horizon (fpp3)."""
    tail = (1 - level) / 2
    if len(residuals) >= 2:
        lo_q, hi_q = np.quantile(residuals, [tail, 1 - tail])
        sd = float(np.std(residuals, ddof=1))
    else:
        lo_q = hi_q = sd = 0.0
    return Forecast(method, mean, (sd * scale) ** 2, np.maximum(mean + lo_q * scale, 0.0),
                    np.maximum(mean + hi_q * scale, 0.0))


def baseline(method: str, y: np.ndarray, *, horizon: int, level: float) -> Forecast:
    """``mean`` of the history, or seasonal naive (the same week a year before, where a
    year of history exists; otherwise the last week)."""
    n = len(y)
    if n == 0:
        return _zero(method, horizon)
    steps = np.arange(1, horizon + 1)
    if method == "mean":
        mean = np.full(horizon, float(np.mean(y)))
        return _empirical(method, mean, y - mean[0], np.full(horizon, np.sqrt(1 + 1 / n)),
                          level)
    if method == "snaive":
        if n >= SEASON:
            mean = y[n - SEASON + (steps - 1) % SEASON].astype(float)
            return _empirical(method, mean, y[SEASON:] - y[:-SEASON],
                              np.sqrt((steps - 1) // SEASON + 1), level)
        return _empirical(method, np.full(horizon, float(y[-1])), np.diff(y), np.sqrt(steps),
                          level)
    raise ValueError(f"unknown baseline {method!r}")


def forecast(y: Sequence[float] | np.ndarray, *, horizon: int, level: float,
             method: str = "auto", season_past: np.ndarray | None = None,
             season_future: np.ndarray | None = None,
             prior_dispersion: float = DEFAULT_DISPERSION) -> Forecast:
    """Forecast the ``horizon`` weeks after the weekly history ``y`` (oldest first).

    ``y`` starts at the product's launch (its first sale): the weeks before it say
    nothing about its demand. ``season_past``/``season_future`` are the pooled profile's
    multipliers for the weeks of ``y`` and of the horizon (see ``seasonal_profile``);
    only ``auto`` uses them (``auto_flat`` is the same method without a season).
    """
    y = np.asarray(y, dtype=float)
    if method in BASELINES:
        return baseline(method, y, horizon=horizon, level=level)
    if len(y) == 0 or not np.any(y > 0):
        return _zero(method, horizon)
    seasonal = method == "auto" and season_past is not None and season_future is not None
    past = season_past if seasonal else np.ones(len(y))
    future = season_future if seasonal else np.ones(horizon)
    assert past is not None and future is not None
    if method in ("auto", "auto_flat"):
        level_method = "tsb" if is_intermittent(y) else "ses"
    else:
        level_method = method
    fit = _fit_level(level_method, y, past)
    fitted = fit.fitted * past
    phi, used = dispersion(y, fitted)
    phi = (used * phi + DISPERSION_PRIOR_WEIGHT * prior_dispersion) / (
        used + DISPERSION_PRIOR_WEIGHT)
    mean = np.full(horizon, fit.level) * future
    steps = np.arange(horizon)
    var = (mean + phi * mean ** 2) * (1 + steps * fit.alpha ** 2)
    low, high = count_interval(mean, var, level)
    name = method if method not in ("auto", "auto_flat") else f"{method}:{level_method}"
    return Forecast(name, mean, var, low, high)


def pooled_profiles(totals: dict[str, np.ndarray], woy: np.ndarray) -> dict[str, np.ndarray]:
    """A profile per group (category) from its summed sales, shrunk towards the profile of
    the whole shop (all groups summed); the shop's own is under the key ``""``."""
    shop_total = np.sum(list(totals.values()), axis=0) if totals else np.zeros(len(woy))
    shop = seasonal_profile(shop_total, woy)
    profiles = {group: seasonal_profile(total, woy, prior=shop)
                for group, total in totals.items()}
    profiles[""] = shop
    return profiles


def aggregate(forecasts: Sequence[Forecast], level: float) -> Forecast:
    """The forecast of a sum of products (e.g. a product's variants), taken as
    independent: means and variances add, the interval is the sum's."""
    if not forecasts:
        raise ValueError("nothing to aggregate")
    mean = np.sum([f.mean for f in forecasts], axis=0)
    var = np.sum([f.var for f in forecasts], axis=0)
    low, high = count_interval(mean, var, level)
    methods = sorted({f.method for f in forecasts})
    return Forecast("+".join(methods), mean, var, low, high)
