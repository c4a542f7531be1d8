"""A generator of a small maker's sales, to evaluate the forecasts on when no shop history
is at hand.

    python -m commerce_core.planning.simulate --out sales.tsv [--seed 7] [--skus 60]
        [--weeks 156] [--start 2022-01-03]

It writes one row per order line: ``sku<TAB>date<TAB>quantity<TAB>category``. What it
models, per product (SKU):

- **Rate.** A base rate of orders per week, log-normal (median 0.6, so most products sell
  a few a month and a few sell several a week), times a trend of its own (±25 % a year
  around the shop's +10 %).
- **Launches and retirements.** 30 % of the products launch during the period (with a
  four-week ramp-up and a novelty bump that fades over two months), 8 % are retired
  (their sales stop).
- **Year.** Each category has its own calendar, on real dates: Christmas (a peak in the
  five weeks before 25 December, strongest for candles and jewellery), Mother's Day
  (second Sunday of May, ceramics and prints), Valentine's Day (jewellery), a winter
  season for candles and textiles, a summer lull everywhere, and a dip after New Year.
- **Noise.** Weekly order counts are Poisson with a gamma-distributed rate (negative
  binomial, shape 2: busier and quieter weeks than Poisson alone); each order is for one
  piece (80 %), two (15 %) or a set of four (5 %). Orders fall on days of the week with
  Sunday evening and Monday busiest.

Nothing here is fitted to any shop: the numbers are plausible, documented and fixed by
the seed, so a run can be repeated exactly.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

CATEGORIES = ("ceramics", "jewellery", "prints", "candles", "textiles", "stationery")
# amplitude of each event, per category (multiplies the rate by 1 + amplitude at its peak)
EVENTS: dict[str, dict[str, float]] = {
    "ceramics": {"christmas": 1.6, "mothers_day": 1.2, "valentine": 0.0, "winter": 0.0},
    "jewellery": {"christmas": 2.5, "mothers_day": 0.8, "valentine": 1.8, "winter": 0.0},
    "prints": {"christmas": 1.4, "mothers_day": 0.9, "valentine": 0.3, "winter": 0.0},
    "candles": {"christmas": 3.0, "mothers_day": 0.5, "valentine": 0.4, "winter": 0.8},
    "textiles": {"christmas": 1.2, "mothers_day": 0.4, "valentine": 0.0, "winter": 0.5},
    "stationery": {"christmas": 1.8, "mothers_day": 0.3, "valentine": 0.2, "winter": 0.0},
}
SIZES = (1, 2, 4)
SIZE_CHANCES = (0.80, 0.15, 0.05)
DAY_WEIGHTS = np.array([1.3, 1.0, 1.0, 1.0, 0.9, 0.9, 1.2])
GAMMA_SHAPE = 2.0


@dataclass(frozen=True)
class Product:
    sku: str
    category: str
    rate: float
    growth: float
    launch: int
    retire: int | None


def mothers_day(year: int) -> date:
    """Second Sunday of May (most of Europe outside the UK and France, the Americas)."""
    first = date(year, 5, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def _bump(days: float, width: float) -> float:
    """A peak before an event: highest in the week before it, nothing after it."""
    if days < 0 or days > 6 * width:
        return 0.0
    return math.exp(-((days - width) / width) ** 2)


def seasonality(category: str, day: date) -> float:
    """The category's multiplier of the rate on ``day``."""
    amplitude = EVENTS[category]
    christmas = date(day.year, 12, 25)
    mother = mothers_day(day.year)
    valentine = date(day.year, 2, 14)
    factor = 1.0
    factor += amplitude["christmas"] * _bump((christmas - day).days, 12.0)
    factor += amplitude["mothers_day"] * _bump((mother - day).days, 5.0)
    factor += amplitude["valentine"] * _bump((valentine - day).days, 4.0)
    factor += amplitude["winter"] * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365)
    summer = 0.3 * math.exp(-(((day.timetuple().tm_yday - 210) / 25.0) ** 2))
    january = 0.3 if day.month == 1 and day.day <= 21 else 0.0
    return max(factor - summer - january, 0.1)


def products(rng: np.random.Generator, *, count: int, weeks: int) -> list[Product]:
    made = []
    for i in range(count):
        category = CATEGORIES[i % len(CATEGORIES)]
        launch = int(rng.integers(8, max(weeks - 26, 9))) if rng.random() < 0.30 else 0
        retire = None
        if rng.random() < 0.08:
            retire = int(rng.integers(launch + 26, weeks)) if launch + 26 < weeks else None
        made.append(Product(
            sku=f"{category[:3].upper()}-{i + 1:03d}", category=category,
            rate=float(rng.lognormal(math.log(0.6), 0.9)),
            growth=float(rng.normal(0.10, 0.25)), launch=launch, retire=retire))
    return made


def weekly_rate(product: Product, week: int, monday: date) -> float:
    if week < product.launch or (product.retire is not None and week >= product.retire):
        return 0.0
    age = week - product.launch
    ramp = 1 - math.exp(-(age + 1) / 4) if product.launch else 1.0
    novelty = 1 + (0.8 * math.exp(-age / 8) if product.launch else 0.0)
    trend = math.exp(product.growth * week / 52)
    season = seasonality(product.category, monday + timedelta(days=3))
    return product.rate * ramp * novelty * trend * season


def generate(*, seed: int, skus: int, weeks: int, start: date
             ) -> list[tuple[str, date, int, str]]:
    """Order lines (sku, day, quantity, category), in date order."""
    rng = np.random.default_rng(seed)
    catalog = products(rng, count=skus, weeks=weeks)
    monday = start - timedelta(days=start.weekday())
    day_chances = DAY_WEIGHTS / DAY_WEIGHTS.sum()
    rows = []
    for week in range(weeks):
        first = monday + timedelta(weeks=week)
        for product in catalog:
            rate = weekly_rate(product, week, first)
            if rate <= 0:
                continue
            orders = int(rng.poisson(rng.gamma(GAMMA_SHAPE, rate / GAMMA_SHAPE)))
            for _ in range(orders):
                day = first + timedelta(days=int(rng.choice(7, p=day_chances)))
                size = int(rng.choice(SIZES, p=SIZE_CHANCES))
                rows.append((product.sku, day, size, product.category))
    rows.sort(key=lambda r: (r[1], r[0]))
    return rows


def write(rows: list[tuple[str, date, int, str]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["sku", "date", "quantity", "category"])
        for sku, day, quantity, category in rows:
            writer.writerow([sku, day.isoformat(), quantity, category])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commerce_core.planning.simulate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skus", type=int, default=60)
    parser.add_argument("--weeks", type=int, default=156)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2022, 1, 3))
    args = parser.parse_args(argv)
    if not 1 <= args.skus <= 5000 or not 1 <= args.weeks <= 1040:
        parser.error("--skus must be 1..5000 and --weeks 1..1040")
    rows = generate(seed=args.seed, skus=args.skus, weeks=args.weeks, start=args.start)
    write(rows, args.out)
    sys.stdout.write(f"{len(rows)} order lines of {args.skus} products over {args.weeks} "
                     f"weeks written to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
