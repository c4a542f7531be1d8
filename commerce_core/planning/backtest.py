"""Rolling-origin backtest of the weekly forecasts: MASE and interval coverage.

At each origin (a week), every method forecasts the next ``horizon`` weeks of every
product from the weeks before the origin only (the pooled season too), and is scored on
what was then sold.

- **MASE** of a product at an origin is its mean absolute error over the horizon divided
  by the in-sample mean absolute one-step change of its history (the error of the naive
  forecast, Hyndman & Koehler 2006), history counted from its first sale. A product whose
  history has no change (one week, or the same every week) has no scale and is left out
  of MASE at that origin. A product's MASE is the mean over its origins, and a method's
  the **arithmetic mean over products**.
- **Relative MAE** is the method's summed absolute error over the seasonal naive's, over
  every scored forecast: below 1 is better than seasonal naive; it needs no scale, so no
  product is left out.
- **Coverage** is the share of weeks whose sales fell inside the interval (bounds
  included); **width** the mean interval width in units.

Products not yet launched at an origin (no sale before it) are not scored there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from commerce_core.planning.forecast import (
    METHODS,
    Forecast,
    forecast,
    pooled_profiles,
    weeks_of_year,
)


@dataclass(frozen=True)
class Panel:
    """Weekly sales of several products on one calendar of weeks."""

    first_monday: date
    skus: list[str]
    categories: list[str]
    sales: np.ndarray
    """Units per product (row) and week (column)."""

    @property
    def weeks(self) -> int:
        return int(self.sales.shape[1])

    def monday(self, week: int) -> date:
        return self.first_monday + timedelta(weeks=week)

    def launch(self, row: int) -> int | None:
        """The week of the product's first sale (None: never sold)."""
        sold = np.flatnonzero(self.sales[row] > 0)
        return int(sold[0]) if len(sold) else None


@dataclass
class Run:
    """Forecasts of one method: one row per (product, origin, step)."""

    method: str
    rows: list[int] = field(default_factory=list)
    origins: list[int] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Score:
    method: str
    mase: float
    relative_mae: float
    coverage: float
    width: float
    products: int
    """Products with a MASE (a non-zero scale at one origin at least)."""
    points: int
    """Forecast weeks scored."""


def rolling_origins(weeks: int, *, horizon: int, count: int, step: int,
                    min_history: int = 8) -> list[int]:
    """``count`` origins ``step`` weeks apart, the last leaving exactly ``horizon`` weeks."""
    last = weeks - horizon
    origins = [last - i * step for i in range(count)]
    return sorted(o for o in origins if o >= min_history)


def naive_scale(history: np.ndarray) -> float | None:
    """In-sample MAE of the one-step naive forecast; None where it is zero or undefined."""
    if len(history) < 2:
        return None
    scale = float(np.mean(np.abs(np.diff(history))))
    return scale if scale > 0 else None


def forecast_panel(panel: Panel, *, origin: int, horizon: int, level: float,
                   methods: Sequence[str]) -> dict[str, list[tuple[int, Forecast]]]:
    """Every method's forecasts of every launched product from the weeks before
    ``origin``: {method: [(row, Forecast)]}."""
    woy = weeks_of_year(panel.first_monday, panel.weeks + horizon)
    totals: dict[str, np.ndarray] = {}
    for row, category in enumerate(panel.categories):
        past = panel.sales[row, :origin]
        totals[category] = totals.get(category, np.zeros(origin)) + past
    profiles = pooled_profiles(totals, woy[:origin])
    out: dict[str, list[tuple[int, Forecast]]] = {m: [] for m in methods}
    for row, category in enumerate(panel.categories):
        start = panel.launch(row)
        if start is None or start >= origin:
            continue
        history = panel.sales[row, start:origin]
        profile = profiles.get(category, profiles[""])
        for method in methods:
            out[method].append((row, forecast(
                history, horizon=horizon, level=level, method=method,
                season_past=profile[woy[start:origin]],
                season_future=profile[woy[origin:origin + horizon]])))
    return out


def backtest(panel: Panel, *, origins: Sequence[int], horizon: int, level: float,
             methods: Sequence[str] = METHODS) -> dict[str, Run]:
    runs = {m: Run(m) for m in methods}
    for origin in origins:
        by_method = forecast_panel(panel, origin=origin, horizon=horizon, level=level,
                                   methods=methods)
        for method, forecasts in by_method.items():
            run = runs[method]
            for row, result in forecasts:
                steps = min(horizon, panel.weeks - origin)
                for h in range(steps):
                    run.rows.append(row)
                    run.origins.append(origin)
                    run.steps.append(h + 1)
                    run.mean.append(float(result.mean[h]))
                    run.low.append(float(result.low[h]))
                    run.high.append(float(result.high[h]))
                    run.chosen.append(result.method)
    return runs


def score(panel: Panel, runs: dict[str, Run], *, reference: str = "snaive"
          ) -> list[Score]:
    """The scores of each run (see the module's docstring)."""
    scales: dict[tuple[int, int], float | None] = {}
    reference_error = None
    if reference in runs:
        reference_error = _abs_errors(panel, runs[reference]).sum()
    scores = []
    for method, run in runs.items():
        rows, origins = np.array(run.rows, dtype=int), np.array(run.origins, dtype=int)
        errors = _abs_errors(panel, run)
        actual = panel.sales[rows, origins + np.array(run.steps) - 1]
        low, high = np.array(run.low), np.array(run.high)
        per_product: dict[int, list[float]] = {}
        for key in sorted(set(zip(run.rows, run.origins, strict=True))):
            if key not in scales:
                row, origin = key
                start = panel.launch(row)
                scales[key] = naive_scale(panel.sales[row, start:origin])
            scale = scales[key]
            if scale is None:
                continue
            mask = (rows == key[0]) & (origins == key[1])
            per_product.setdefault(key[0], []).append(float(errors[mask].mean()) / scale)
        mase = (float(np.mean([np.mean(v) for v in per_product.values()]))
                if per_product else float("nan"))
        relative = (float(errors.sum() / reference_error) if reference_error
                    else float("nan"))
        points = len(errors)
        scores.append(Score(
            method=method, mase=mase, relative_mae=relative,
            coverage=float(np.mean((actual >= low) & (actual <= high))) if points else
            float("nan"),
            width=float(np.mean(high - low)) if points else float("nan"),
            products=len(per_product), points=points))
    return scores


def at_step(run: Run, step: int) -> Run:
    """The forecasts of ``run`` made ``step`` weeks ahead only."""
    keep = [i for i, s in enumerate(run.steps) if s == step]
    return Run(method=run.method, rows=[run.rows[i] for i in keep],
               origins=[run.origins[i] for i in keep], steps=[step] * len(keep),
               mean=[run.mean[i] for i in keep], low=[run.low[i] for i in keep],
               high=[run.high[i] for i in keep], chosen=[run.chosen[i] for i in keep])


def _abs_errors(panel: Panel, run: Run) -> np.ndarray:
    rows, origins = np.array(run.rows, dtype=int), np.array(run.origins, dtype=int)
    actual = panel.sales[rows, origins + np.array(run.steps, dtype=int) - 1]
    return np.abs(actual - np.array(run.mean))
