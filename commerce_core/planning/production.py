"""The production plan of the made-to-order products: making days needed per week against
the workshop's capacity, and the promises that would slip.

The forecast of each made-to-order product becomes workshop work (units × making days
per unit, see ``making.py``); with the paid orders still to make it is scheduled earliest
promise first (see ``plan.py``). Two kinds of warning come out: paid orders that would
be ready after the date promised to the shopper, and weeks in which an order taken then
would miss the date the quote engine promises today.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from commerce_core.customization.repository import RuleRepository
from commerce_core.models import Product, Variant
from commerce_core.planning import making
from commerce_core.planning.plan import (
    Done,
    Job,
    forecast_jobs,
    schedule,
    working_days_left,
)
from commerce_core.planning.repository import PlanningRepository
from commerce_core.planning.schemas import (
    LateOrder,
    PlanOut,
    PlanProduct,
    PlanWeek,
    PromiseSlip,
)
from commerce_core.planning.service import Demand, ProductDemand, demand
from commerce_core.planning.settings import PlanningSettings


def _usual_extra_days(item: ProductDemand, how: making.Making, demand_: Demand) -> float:
    """Extra making days per unit of the options shoppers chose, on average, in the
    product's order history (0 without history)."""
    ids = {v.variant.id for v in item.variants}
    skus = {v.variant.sku for v in item.variants}
    units = extra = 0.0
    for line in demand_.sold:
        if line.variant_id in ids or (line.variant_id is None and line.sku in skus):
            units += line.quantity
            extra += line.quantity * how.extra_days(line.options)
    return extra / units if units else 0.0


class _Week:
    def __init__(self) -> None:
        self.order_days = self.forecast_days = self.forecast_high = 0.0
        self.products: dict[int, dict[str, float]] = defaultdict(
            lambda: {"order_units": 0.0, "forecast_units": 0.0, "making_days": 0.0})


def production_plan(*, session: Session, now: datetime, weeks: int, level: float,
                    capacity: float, settings: PlanningSettings) -> PlanOut:
    today = now.date()
    notes: list[str] = []
    book = making.RuleBook(RuleRepository(session).all_rule_sets(), notes)
    result = demand(session=session, today=today, horizon=weeks, level=level,
                    settings=settings)
    mondays = [result.week(i) for i in range(weeks)]
    table = [_Week() for _ in mondays]
    products: dict[int, Product] = {}
    per_unit: dict[int, float] = {}
    jobs: list[Job] = []

    for item in result.products:
        made = [v for v in item.variants if making.is_made_to_order(item.product, v.variant)]
        if not made:
            continue
        product = item.product
        products[product.id] = product
        how = book.making(product, None, notes)
        usual = _usual_extra_days(item, how, result)
        per_unit[product.id] = (how.making_days if how.making_days is not None
                                else how.base_days + usual)
        lead = how.base_days + round(usual)
        combined = item.forecast(level, only=made)
        product_jobs = forecast_jobs(product_id=product.id, weekly_units=combined.mean.tolist(),
                                     making_days=per_unit[product.id], lead_days=lead,
                                     today=today)
        jobs += product_jobs
        for i, job in enumerate(product_jobs):
            share = working_days_left(today) / 5 if i == 0 else 1.0
            row = table[i]
            row.forecast_days += job.making_days
            row.forecast_high += float(combined.high[i]) * share * per_unit[product.id]
            entry = row.products[product.id]
            entry["forecast_units"] += float(combined.mean[i]) * share
            entry["making_days"] += job.making_days

    variants: dict[int, tuple[Product, Variant]] = {
        v.variant.id: (item.product, v.variant) for item in result.products
        for v in item.variants}
    lines: dict[str, tuple[str, int | None, str, str, int]] = {}
    for order in PlanningRepository(session).orders_to_make():
        ready_by = date.fromisoformat(order.ready_by)
        for line in order.lines:
            pair = variants.get(line.variant_id) if line.variant_id is not None else None
            if pair is None or not making.is_made_to_order(*pair):
                continue
            product, variant = pair
            unit = book.making(product, variant, notes).unit_days(line.options)
            key = f"order:{order.number}:{line.id}"
            lines[key] = (order.number, product.id, line.sku, line.name, line.quantity)
            jobs.append(Job(key=key, kind="order", product_id=product.id,
                            making_days=unit * line.quantity, release=today,
                            ready_by=ready_by))
            products.setdefault(product.id, product)
            per_unit.setdefault(product.id, unit)
            week = min(max((ready_by - mondays[0]).days // 7, 0), weeks)
            if week < weeks:
                row = table[week]
                row.order_days += unit * line.quantity
                entry = row.products[product.id]
                entry["order_units"] += line.quantity
                entry["making_days"] += unit * line.quantity

    done, spent = schedule(jobs, today=today, capacity=capacity)
    return PlanOut(
        generated_at=now, capacity_days_per_week=capacity,
        backlog_days=round(sum(j.making_days for j in jobs if j.kind == "order"), 2),
        weeks=_weeks(table, mondays, done, spent, today=today, capacity=capacity,
                     products=products, per_unit=per_unit),
        late_orders=_late_orders(done, lines),
        promise_slips=_promise_slips(done, products), notes=sorted(set(notes)))


def _weeks(table: list[_Week], mondays: list[date], done: list[Done],
           spent: dict[date, dict[str, float]], *, today: date, capacity: float,
           products: dict[int, Product], per_unit: dict[int, float]) -> list[PlanWeek]:
    out = []
    for i, (row, monday) in enumerate(zip(table, mondays, strict=True)):
        end = monday + timedelta(days=7)
        released = sum(d.job.making_days for d in done if d.job.release < end)
        finished = sum(d.job.making_days for d in done
                       if d.finished is not None and d.finished < end)
        week_capacity = capacity * (working_days_left(today) / 5 if i == 0 else 1.0)
        needed = row.order_days + row.forecast_days
        used = spent.get(monday, {})
        out.append(PlanWeek(
            week_start=monday, capacity_days=round(week_capacity, 2),
            order_days=round(row.order_days, 2), forecast_days=round(row.forecast_days, 2),
            forecast_days_high=round(row.forecast_high, 2), needed_days=round(needed, 2),
            overloaded=needed > week_capacity + 1e-9,
            scheduled_days=round(sum(used.values()), 2),
            carried_over_days=round(max(released - finished, 0.0), 2),
            products=[PlanProduct(product_id=pid, name=products[pid].name,
                                  order_units=int(e["order_units"]),
                                  forecast_units=round(e["forecast_units"], 2),
                                  making_days_per_unit=round(per_unit[pid], 2),
                                  making_days=round(e["making_days"], 2))
                      for pid, e in sorted(row.products.items())
                      if e["making_days"] > 0 or e["order_units"] > 0]))
    return out


def _late_orders(done: list[Done], lines: dict[str, tuple[str, int | None, str, str, int]]
                 ) -> list[LateOrder]:
    late = []
    for d in done:
        if d.job.kind != "order" or d.slip_days == 0:
            continue
        number, product_id, sku, name, quantity = lines[d.job.key]
        late.append(LateOrder(order_number=number, product_id=product_id, sku=sku, name=name,
                              quantity=quantity, ready_by=d.job.ready_by,
                              expected_ready=d.finished, slip_days=d.slip_days))
    return sorted(late, key=lambda x: (-x.slip_days, x.ready_by, x.order_number))


def _promise_slips(done: list[Done], products: dict[int, Product]) -> list[PromiseSlip]:
    slips = []
    for d in done:
        if d.job.kind != "forecast" or d.slip_days == 0 or d.job.making_days <= 1e-9:
            continue
        monday = d.job.release - timedelta(days=d.job.release.weekday())
        slips.append(PromiseSlip(product_id=d.job.product_id,
                                 name=products[d.job.product_id].name, week_start=monday,
                                 promised_ready_by=d.job.ready_by, expected_ready=d.finished,
                                 slip_days=d.slip_days))
    return sorted(slips, key=lambda x: (x.week_start, -x.slip_days, x.product_id))
