"""Evaluate the weekly demand forecasts on a sales file by rolling-origin backtest.

    python -m commerce_core.planning.evaluate --sales sales.tsv --out forecast.tsv
        [--horizon 8] [--interval 0.8] [--origins 12] [--step 4]

``--sales`` is a TSV with the header ``sku<TAB>date<TAB>quantity`` (an optional fourth
column ``category`` groups products for the pooled season; without it the whole shop is
one group). Dates are ISO (``2024-03-18``; a time after the date is ignored), quantities
whole numbers; negative ones (returns) are netted within their week, and a week's net
below zero counts as zero. Sales are summed per product and Monday-to-Sunday week; the
last week is dropped when the file ends before its Sunday (a part week would read as a
drop in demand).

``--out`` receives every forecast, backtest and future alike, one row per product, week
and method: ``kind<TAB>sku<TAB>origin<TAB>week<TAB>step<TAB>actual<TAB>method<TAB>
forecast<TAB>low<TAB>high<TAB>model`` (kind ``backtest`` with the actual sales, kind
``forecast`` for the weeks after the file, actual empty). The scores (see
``backtest.py``) are printed per method, baselines first.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

from commerce_core.planning.backtest import (
    Panel,
    Run,
    Score,
    at_step,
    backtest,
    forecast_panel,
    rolling_origins,
    score,
)
from commerce_core.planning.forecast import BASELINES, METHODS, Forecast, week_start

MAX_ROWS = 5_000_000
MAX_SKU_CHARS = 64
OUT_HEADER = ["kind", "sku", "origin", "week", "step", "actual", "method", "forecast",
              "low", "high", "model"]


class SalesFileError(ValueError):
    """The sales file cannot be read; the message names the line."""


def read_sales(path: Path) -> Panel:
    """Weekly sales per product from a sales TSV (see the module's docstring).

    Raises:
        SalesFileError: a missing column, a bad date or quantity, an empty file.
    """
    weekly: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    categories: dict[str, str] = {}
    last_day: date | None = None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in ("sku", "date", "quantity") if c not in header]
        if missing:
            raise SalesFileError(f"{path}: line 1: the header lacks {', '.join(missing)} "
                                 "(expected sku<TAB>date<TAB>quantity)")
        col = {name: header.index(name) for name in header}
        for number, row in enumerate(reader, start=2):
            if number > MAX_ROWS:
                raise SalesFileError(f"{path}: more than {MAX_ROWS} lines")
            if not row or not any(cell.strip() for cell in row):
                continue
            try:
                sku = row[col["sku"]].strip()
                day = date.fromisoformat(row[col["date"]].strip()[:10])
                quantity = int(row[col["quantity"]].strip())
            except (IndexError, ValueError) as exc:
                raise SalesFileError(f"{path}: line {number}: {exc}") from None
            if not sku or len(sku) > MAX_SKU_CHARS:
                raise SalesFileError(f"{path}: line {number}: the sku must be 1 to "
                                     f"{MAX_SKU_CHARS} characters")
            weekly[sku][week_start(day)] += quantity
            if "category" in col and len(row) > col["category"]:
                categories.setdefault(sku, row[col["category"]].strip().lower())
            last_day = day if last_day is None or day > last_day else last_day
    if last_day is None:
        raise SalesFileError(f"{path}: no sales")
    first = min(min(weeks) for weeks in weekly.values())
    end = week_start(last_day) + (timedelta(weeks=1) if last_day.weekday() == 6 else
                                  timedelta(0))
    count = (end - first).days // 7
    if count < 1:
        raise SalesFileError(f"{path}: less than one whole week of sales")
    skus = sorted(weekly)
    sales = np.zeros((len(skus), count))
    for row, sku in enumerate(skus):
        for monday, units in weekly[sku].items():
            week = (monday - first).days // 7
            if week < count:
                sales[row, week] = max(units, 0)
    return Panel(first_monday=first, skus=skus,
                 categories=[categories.get(s, "") for s in skus], sales=sales)


def write_forecasts(out: Path, panel: Panel, runs: dict[str, Run],
                    future: dict[str, list[tuple[int, Forecast]]], horizon: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(OUT_HEADER)
        for method, run in runs.items():
            for i, row in enumerate(run.rows):
                origin, step = run.origins[i], run.steps[i]
                writer.writerow([
                    "backtest", panel.skus[row], panel.monday(origin).isoformat(),
                    panel.monday(origin + step - 1).isoformat(), step,
                    int(panel.sales[row, origin + step - 1]), method, f"{run.mean[i]:.3f}",
                    f"{run.low[i]:g}", f"{run.high[i]:g}", run.chosen[i]])
        for method, forecasts in future.items():
            for row, result in forecasts:
                for h in range(horizon):
                    writer.writerow([
                        "forecast", panel.skus[row], panel.monday(panel.weeks).isoformat(),
                        panel.monday(panel.weeks + h).isoformat(), h + 1, "", method,
                        f"{result.mean[h]:.3f}", f"{result.low[h]:g}",
                        f"{result.high[h]:g}", result.method])


def report(stream: TextIO, scores: list[Score], by_step: dict[str, list[float]], *,
           panel: Panel, origins: list[int], horizon: int, level: float) -> None:
    stream.write(
        f"{len(panel.skus)} products, {panel.weeks} weeks "
        f"({panel.first_monday} to {panel.monday(panel.weeks) - timedelta(days=1)}); "
        f"{len(origins)} origins from {panel.monday(origins[0])} to "
        f"{panel.monday(origins[-1])}, horizon 1-{horizon} weeks, "
        f"{level:.0%} intervals\n")
    stream.write(f"{'method':<10} {'MASE':>6} {'relMAE':>7} {'cover':>6} {'width':>6} "
                 f"{'products':>8} {'points':>7}\n")
    for s in sorted(scores, key=lambda s: (s.method not in BASELINES,
                                           METHODS.index(s.method))):
        stream.write(f"{s.method:<10} {s.mase:6.3f} {s.relative_mae:7.3f} {s.coverage:6.1%} "
                     f"{s.width:6.2f} {s.products:8d} {s.points:7d}\n")
    stream.write("MASE by weeks ahead:\n" + f"{'method':<10}" + "".join(
        f" {'h' + str(h):>6}" for h in range(1, horizon + 1)) + "\n")
    for method in sorted(by_step, key=lambda m: (m not in BASELINES, METHODS.index(m))):
        stream.write(f"{method:<10}" + "".join(f" {v:6.3f}" for v in by_step[method]) + "\n")
    stream.write("MASE: mean over products of the mean over origins of MAE / in-sample "
                 "one-step naive MAE; relMAE: summed absolute error / seasonal naive's; "
                 "cover: share of weeks inside the interval.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commerce_core.planning.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--interval", type=float, default=0.8)
    parser.add_argument("--origins", type=int, default=12)
    parser.add_argument("--step", type=int, default=4)
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if unknown := [m for m in methods if m not in METHODS]:
        parser.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    if not 1 <= args.horizon <= 52 or not 0.5 <= args.interval < 1:
        parser.error("--horizon must be 1..52 and --interval in [0.5, 1)")
    if not 1 <= args.origins <= 200 or not 1 <= args.step <= 52:
        parser.error("--origins must be 1..200 and --step 1..52")
    try:
        panel = read_sales(args.sales)
    except (OSError, SalesFileError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    origins = rolling_origins(panel.weeks, horizon=args.horizon, count=args.origins,
                              step=args.step)
    if not origins:
        sys.stderr.write(f"error: {panel.weeks} weeks of sales are too few for a backtest "
                         f"with a {args.horizon}-week horizon (8 weeks of history at least)\n")
        return 2
    runs = backtest(panel, origins=origins, horizon=args.horizon, level=args.interval,
                    methods=methods)
    future = forecast_panel(panel, origin=panel.weeks, horizon=args.horizon,
                            level=args.interval, methods=methods)
    write_forecasts(args.out, panel, runs, future, args.horizon)
    by_step = {method: [] for method in runs}
    for step in range(1, args.horizon + 1):
        for result in score(panel, {m: at_step(r, step) for m, r in runs.items()}):
            by_step[result.method].append(result.mase)
    report(sys.stdout, score(panel, runs), by_step, panel=panel, origins=origins,
           horizon=args.horizon, level=args.interval)
    sys.stdout.write(f"forecasts written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
