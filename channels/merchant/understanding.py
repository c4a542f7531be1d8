"""Beside the funnel: how often the bot did not understand a shopper's message, day by day
(week by week over more than a month) as a chart drawn on the server, and the turns it
took longest to answer, as the gateway measured them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from channels.merchant.auth import OwnerDep
from channels.merchant.charts import figure, png
from channels.merchant.html import Html, h, join, table, url, when
from commerce_core import clock
from commerce_core.backoffice.analytics import (
    UnderstandingDay,
    slowest_turns,
    understanding_by_day,
)
from commerce_core.db import SessionDep

if TYPE_CHECKING:
    from matplotlib.figure import Figure

router = APIRouter(include_in_schema=False)
Days = Annotated[int, Query(ge=7, le=90)]
WEEKLY_AFTER = 31
SLOWEST = 10
SHOWN_CHARS = 80


def period(days: int) -> tuple[date, date]:
    last = clock.now().date()
    return last - timedelta(days=days - 1), last


def by_week(rows: list[UnderstandingDay]) -> list[UnderstandingDay]:
    """The days summed per week, each named by its Monday."""
    weeks: dict[date, UnderstandingDay] = {}
    for row in rows:
        monday = row.day - timedelta(days=row.day.weekday())
        week = weeks.setdefault(monday, UnderstandingDay(monday))
        week.turns += row.turns
        week.misunderstood += row.misunderstood
    return list(weeks.values())


def _periods(session: Session, days: int) -> tuple[list[UnderstandingDay], str]:
    first, last = period(days)
    rows = understanding_by_day(session=session, first=first, last=last)
    return (by_week(rows), "week") if days > WEEKLY_AFTER else (rows, "day")


def draw(rows: list[UnderstandingDay], unit: str) -> Figure:
    """The share of misunderstood messages per day or week (bars, labelled with the
    count), over the messages the bot answered."""
    drawn = figure(12, 3.6)
    axes = drawn.subplots()
    positions = list(range(len(rows)))
    rates = [100 * r.rate for r in rows]
    axes.bar(positions, rates, color="#b5542c")
    for x, row in zip(positions, rows, strict=True):
        if row.turns:
            axes.text(x, 100 * row.rate, f"{row.misunderstood}/{row.turns}", ha="center",
                      va="bottom", fontsize=7)
    step = max(1, len(rows) // 15)
    axes.set_xticks(positions[::step], [r.day.isoformat() for r in rows][::step],
                    rotation=45, fontsize=8)
    axes.set_ylim(0, max([*rates, 10.0]) * 1.2)
    axes.set_ylabel("% of messages not understood")
    axes.set_title(f"Messages the bot did not understand, per {unit} (UTC)")
    axes.grid(axis="y", alpha=0.3)
    return drawn


@router.get("/merchant/understanding.png")
def understanding_png(_: OwnerDep, session: SessionDep, days: Days = 30) -> Response:
    return png(draw(*_periods(session, days)))


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 1] + "…"


def understanding_section(session: Session, days: int) -> Html:
    """The misunderstood rate of the period (figure, chart) and its slowest turns."""
    rows, unit = _periods(session, days)
    turns = sum(r.turns for r in rows)
    missed = sum(r.misunderstood for r in rows)
    summary = (f"{missed} of {turns} messages not understood ({missed / turns:.1%})."
               if turns else "The bot answered no message in this period.")
    first, last = period(days)
    slowest = slowest_turns(
        session=session, since=datetime.combine(first, time(), tzinfo=UTC),
        until=datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC), limit=SLOWEST)
    return join([
        h("<h2>Understanding</h2>"),
        h('<p id="misunderstood-rate">{}</p>', summary),
        h('<img class="chart" id="understanding-chart" src="{}" width="1200" height="360" '
          'alt="Messages the bot did not understand, per {}: {}">',
          url("/merchant/understanding.png", days=days), unit, summary),
        h("<h2>Slowest answers</h2>"),
        table(["Message", "Channel", "Took", "Understood", "When"],
              [(_shown(t.text), t.channel, f"{t.duration_ms:,} ms",
                {True: "yes", False: "no", None: ""}[t.understood], when(t.created_at))
               for t in slowest],
              empty="The bot answered no message in this period.", css="slowest")])
