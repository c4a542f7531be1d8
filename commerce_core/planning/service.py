"""Demand forecasts from the shop's own orders, and restock suggestions from them.

Each variant's weekly sales (paid orders, by the week they were placed) are forecast
with the shop's method (see ``forecast.py``): the season is learnt from all products of
its category together, shrunk towards the whole shop's; a product's forecast is the sum
of its variants'. The week in progress is not history yet (its sales so far would read
as a drop): the forecast's first week is the current one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.models import Product, Variant
from commerce_core.planning import making
from commerce_core.planning.forecast import (
    Forecast,
    aggregate,
    forecast,
    pooled_profiles,
    week_start,
    weeks_of_year,
)
from commerce_core.planning.plan import restock, weeks_of_cover
from commerce_core.planning.repository import PlanningRepository, SoldLine
from commerce_core.planning.schemas import (
    ForecastOut,
    ForecastWeek,
    ProductForecast,
    RestockOut,
    RestockSuggestion,
)
from commerce_core.planning.settings import PlanningSettings


@dataclass(frozen=True)
class VariantDemand:
    variant: Variant
    forecast: Forecast
    units_sold: int
    first_sale: int | None
    """Week index (into the history) of its first sale."""


@dataclass(frozen=True)
class ProductDemand:
    product: Product
    variants: list[VariantDemand]

    def forecast(self, level: float, *, only: Sequence[VariantDemand] | None = None
                 ) -> Forecast:
        return aggregate([v.forecast for v in (self.variants if only is None else only)],
                         level)


@dataclass(frozen=True)
class Demand:
    this_monday: date
    history_from: date
    history_weeks: int
    level: float
    products: list[ProductDemand]
    sold: list[SoldLine]

    def week(self, index: int) -> date:
        return self.this_monday + timedelta(weeks=index)


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def demand(*, session: Session, today: date, horizon: int, level: float,
           settings: PlanningSettings) -> Demand:
    """Forecast every variant of the catalog over ``horizon`` weeks from this week."""
    this_monday = week_start(today)
    history = settings.forecast_history_weeks
    first = this_monday - timedelta(weeks=history)
    sold = PlanningRepository(session).sold_lines(since=_utc(first), until=_utc(this_monday))
    products = list(CatalogRepository(session).all_products())
    by_id = {v.id: v for p in products for v in p.variants}
    by_sku = {v.sku: v for p in products for v in p.variants}
    weekly = {v.id: np.zeros(history) for v in by_id.values()}
    for line in sold:
        variant = by_id.get(line.variant_id) if line.variant_id is not None else None
        variant = variant or by_sku.get(line.sku)
        if variant is not None:
            weekly[variant.id][(line.at.date() - first).days // 7] += line.quantity
    woy = weeks_of_year(first, history + horizon)
    totals: dict[str, np.ndarray] = {}
    for product in products:
        for variant in product.variants:
            totals[product.category] = totals.get(product.category, 0) + weekly[variant.id]
    profiles = pooled_profiles(totals, woy[:history])
    out = []
    for product in products:
        profile = profiles.get(product.category, profiles[""])
        variants = []
        for variant in product.variants:
            series = np.maximum(weekly[variant.id], 0)
            sold_weeks = np.flatnonzero(series > 0)
            start = int(sold_weeks[0]) if len(sold_weeks) else None
            result = forecast(
                series[start:] if start is not None else series[:0], horizon=horizon,
                level=level, method="auto",
                season_past=profile[woy[start or 0:history]],
                season_future=profile[woy[history:history + horizon]])
            variants.append(VariantDemand(variant=variant, forecast=result,
                                          units_sold=int(series.sum()), first_sale=start))
        out.append(ProductDemand(product=product, variants=variants))
    return Demand(this_monday=this_monday, history_from=first, history_weeks=history,
                  level=level, products=out, sold=sold)


def _method(variants: Sequence[VariantDemand]) -> str:
    names = sorted({v.forecast.method.removeprefix("auto:") for v in variants
                    if v.units_sold > 0})
    return "+".join(names) or "none"


def _weeks(result: Forecast, demand_: Demand) -> list[ForecastWeek]:
    return [ForecastWeek(week_start=demand_.week(i), forecast=round(float(result.mean[i]), 2),
                         low=int(result.low[i]), high=int(result.high[i]))
            for i in range(len(result.mean))]


def product_forecasts(*, session: Session, now: datetime, weeks: int, level: float,
                      category: str | None, limit: int, offset: int,
                      settings: PlanningSettings) -> ForecastOut:
    """Per product, the weekly forecast with its interval; busiest products first."""
    result = demand(session=session, today=now.date(), horizon=weeks, level=level,
                    settings=settings)
    rows = []
    for item in result.products:
        product = item.product
        if category is not None and product.category != category.strip().lower():
            continue
        combined = item.forecast(level) if item.variants else None
        starts = [v.first_sale for v in item.variants if v.first_sale is not None]
        rows.append(ProductForecast(
            product_id=product.id, name=product.name, category=product.category,
            made_to_order=any(making.is_made_to_order(product, v.variant)
                              for v in item.variants),
            skus=[v.variant.sku for v in item.variants], method=_method(item.variants),
            units_sold=sum(v.units_sold for v in item.variants),
            weeks_since_first_sale=result.history_weeks - min(starts) if starts else 0,
            total=round(float(combined.mean.sum()), 2) if combined else 0.0,
            weeks=_weeks(combined, result) if combined else []))
    rows.sort(key=lambda r: (-r.total, r.product_id))
    return ForecastOut(generated_at=now, history_from=result.history_from, level=level,
                       count=len(rows), products=rows[offset:offset + limit], notes=[])


def restock_suggestions(*, session: Session, now: datetime, service_level: float,
                        include_all: bool, settings: PlanningSettings) -> RestockOut:
    """For each variant sold from stock: how many to make or reorder so that its stock
    lasts the lead time with ``service_level`` probability (see ``plan.restock``).
    Only the low ones (something to do) unless ``include_all``."""
    notes: list[str] = []
    catalog = CatalogRepository(session).all_products()
    terms = {v.id: making.restock_terms(p, v, default_lead_days=settings.restock_lead_time_days,
                                        notes=notes)
             for p in catalog for v in p.variants if not making.is_made_to_order(p, v)}
    longest = max((lead for lead, _ in terms.values()), default=0)
    horizon = max(8, math.ceil(longest / 7) + 1)
    result = demand(session=session, today=now.date(), horizon=horizon,
                    level=service_level, settings=settings)
    suggestions = []
    for item in result.products:
        for vd in item.variants:
            if vd.variant.id not in terms:
                continue
            lead, action = terms[vd.variant.id]
            stock = vd.variant.stock
            need = restock(means=vd.forecast.mean.tolist(), variances=vd.forecast.var.tolist(),
                           lead_days=lead, stock=stock, service_level=service_level)
            if need.suggested == 0 and not include_all:
                continue
            cover = weeks_of_cover(stock, vd.forecast.mean.tolist())
            suggestions.append(RestockSuggestion(
                sku=vd.variant.sku, product_id=item.product.id, name=item.product.name,
                action=action, stock=stock, lead_time_days=lead,
                forecast_over_lead_time=round(need.demand, 2), target_stock=need.target,
                safety_stock=max(need.target - math.ceil(need.demand), 0),
                suggested_quantity=need.suggested,
                weeks_of_cover=round(cover, 1) if cover is not None else None))
    suggestions.sort(key=lambda s: (s.weeks_of_cover if s.weeks_of_cover is not None
                                    else math.inf, -s.suggested_quantity, s.sku))
    return RestockOut(generated_at=now, service_level=service_level, suggestions=suggestions,
                      notes=notes)
