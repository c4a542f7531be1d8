"""The planning page: the workshop's weeks ahead (making days of paid orders and of the
orders the forecast expects, against its capacity), the promises that would slip, and
what to make or reorder now — all from the commerce core's planning service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from channels.merchant.auth import OwnerDep
from channels.merchant.charts import figure, finish, png
from channels.merchant.html import h, join, page, table, url
from commerce_core import clock
from commerce_core.db import SessionDep
from commerce_core.planning import production, service
from commerce_core.planning.schemas import PlanOut
from commerce_core.planning.settings import get_planning_settings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

router = APIRouter(include_in_schema=False)
Weeks = Annotated[int, Query(ge=2, le=26)]
LEVEL = 0.8


def _plan(session: Session, weeks: int) -> PlanOut:
    settings = get_planning_settings()
    return production.production_plan(session=session, now=clock.now(), weeks=weeks,
                                      level=LEVEL, capacity=settings.workshop_days_per_week,
                                      settings=settings)


def draw(plan: PlanOut) -> Figure:
    """Making days per week: paid orders and expected orders stacked, the high bound of the
    expected ones as a tick, the workshop's capacity as a line."""
    drawn = figure(12, 4.2)
    axes = drawn.subplots()
    labels = [w.week_start.strftime("%d %b") for w in plan.weeks]
    x = list(range(len(plan.weeks)))
    orders = [w.order_days for w in plan.weeks]
    expected = [w.forecast_days for w in plan.weeks]
    axes.bar(x, orders, color="#7a4e2d", label="paid orders")
    axes.bar(x, expected, bottom=orders, color="#d9b99b", label="expected orders (forecast)")
    axes.scatter(x, [o + w.forecast_days_high for o, w in zip(orders, plan.weeks, strict=True)],
                 marker="_", s=300, color="#5f5750",
                 label=f"expected, high bound ({LEVEL:.0%})")
    axes.hlines([w.capacity_days for w in plan.weeks], [i - 0.45 for i in x],
                [i + 0.45 for i in x], color="#a1261b", linewidth=2, label="capacity")
    for i, week in enumerate(plan.weeks):
        if week.overloaded:
            axes.annotate("over", (i, week.needed_days), textcoords="offset points",
                          xytext=(0, 6), ha="center", color="#a1261b", fontsize=9)
    axes.set_xticks(x, labels)
    axes.set_ylabel("making days")
    axes.set_title("The workshop's weeks ahead (week of Monday)")
    finish(axes, grid="y")
    return drawn


@router.get("/merchant/planning.png")
def planning_png(_: OwnerDep, session: SessionDep, weeks: Weeks = 8) -> Response:
    return png(draw(_plan(session, weeks)))


@router.get("/merchant/planning")
def planning_page(actor: OwnerDep, session: SessionDep, weeks: Weeks = 8) -> HTMLResponse:
    plan = _plan(session, weeks)
    settings = get_planning_settings()
    restock = service.restock_suggestions(session=session, now=clock.now(),
                                          service_level=settings.restock_service_level,
                                          include_all=False, settings=settings)
    overloaded = [w.week_start.isoformat() for w in plan.weeks if w.overloaded]
    summary = h('<p id="plan-summary">Capacity {} making days a week; {} making days of paid '
                "orders still to make. {}</p>", f"{plan.capacity_days_per_week:g}",
                f"{plan.backlog_days:.1f}",
                f"Over capacity in the weeks of {', '.join(overloaded)}." if overloaded
                else "No week is over capacity.")
    late = table(["Order", "Product", "Qty", "Promised", "Expected ready", "Days late"],
                 [(h('<a href="/merchant/orders/{0}">{0}</a>', o.order_number), o.name,
                   o.quantity, o.ready_by.isoformat(),
                   o.expected_ready.isoformat() if o.expected_ready else "not in 5 years",
                   o.slip_days) for o in plan.late_orders],
                 empty="Every paid order will be ready by the date promised.", css="late")
    slips = table(["Week of", "Product", "Ready-by quoted", "Expected ready", "Days late"],
                  [(s.week_start.isoformat(), s.name, s.promised_ready_by.isoformat(),
                    s.expected_ready.isoformat() if s.expected_ready else "not in 5 years",
                    s.slip_days) for s in plan.promise_slips],
                  empty="The ready-by dates quoted now would be kept.", css="slips")
    to_make = table(["SKU", "Product", "In stock", "Weeks of cover", "Do", "How many"],
                    [(r.sku, r.name, r.stock,
                      "" if r.weeks_of_cover is None else f"{r.weeks_of_cover:g}",
                      r.action, r.suggested_quantity) for r in restock.suggestions],
                    empty="Nothing needs making or reordering now.", css="restock")
    notes = join(h("<li>{}</li>", note) for note in [*plan.notes, *restock.notes])
    choices = join(h('<a href="{}">{} weeks</a>', url("/merchant/planning", weeks=n), n)
                   for n in (4, 8, 13, 26))
    return page(title="Planning", actor=actor, body=join([
        h('<p class="paging">{}</p>', choices), summary,
        h('<img class="chart" id="plan-chart" src="{}" width="1200" height="420" '
          'alt="Making days per week against the capacity">',
          url("/merchant/planning.png", weeks=weeks)),
        h("<h2>Paid orders that would be late</h2>{}", late),
        h("<h2>Promises that would slip</h2>{}", slips),
        h('<h2>Make or reorder now</h2><p class="muted">Stock to last the lead time with '
          "{} probability, from the demand forecast.</p>{}",
          f"{restock.service_level:.0%}", to_make),
        h('<ul class="muted">{}</ul>', notes) if notes else h("")]))
