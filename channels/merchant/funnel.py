"""The conversation funnel page: a chart drawn on the server (matplotlib, PNG) and the
same figures as a table, over the last 7 to 90 days; beside it the paid revenue by
channel and the conversations handed to a person, and why."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import yaml
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from channels.merchant.auth import OwnerDep
from channels.merchant.charts import figure, finish, png
from channels.merchant.html import Html, h, join, money, page, table, url
from channels.merchant.understanding import period, understanding_section
from commerce_core.backoffice import analytics
from commerce_core.backoffice.funnel import STAGES, FunnelDay, funnel
from commerce_core.db import SessionDep

if TYPE_CHECKING:
    from matplotlib.figure import Figure

router = APIRouter(include_in_schema=False)
Days = Annotated[int, Query(ge=7, le=90)]
WEEKLY_AFTER = 31
"""Longer periods are drawn per week: 90 daily points of a small shop are noise."""
DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
LABELS = {"conversations": "conversations", "searched": "searched", "shown": "products shown",
          "added": "added to cart", "checkout": "checkout", "paid": "paid"}


@lru_cache
def no_result_replies(directory: Path = DOMAIN_DIR) -> frozenset[str]:
    """The bot's replies to a search that found nothing (``utter_no_results`` in its
    domain), by which such answers are known in transcripts. Empty where the bot's files
    are not deployed beside the gateway: then only searches with results count."""
    texts: set[str] = set()
    for path in sorted(directory.glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses")
        for variant in (responses or {}).get("utter_no_results", []):
            if isinstance(variant, dict) and isinstance(variant.get("text"), str):
                texts.add(variant["text"].strip())
    return frozenset(texts)


REASONS = {"shopper_request": "asked for a person",
           "repeated_failure": "the bot did not understand",
           "frustrated": "frustrated", "faq_unanswered": "question the bot could not answer",
           "damaged": "a piece arrived damaged", "agent": "taken by an agent"}


def _days(session: SessionDep, days: int) -> list[FunnelDay]:
    first, last = period(days)
    return funnel(session=session, first=first, last=last, no_results=no_result_replies())


def _beside(session: SessionDep, days: int) -> Html:
    """Revenue by channel and the handoffs of the period, as tables."""
    first, last = period(days)
    since = datetime.combine(first, time(), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    revenue = table(["Channel", "Paid orders", "Revenue", "Average order"],
                    [(r.channel, r.orders, money(r.revenue, r.currency),
                      money(r.average, r.currency))
                     for r in analytics.revenue_by_channel(session=session, since=since,
                                                           until=until)],
                    empty="No paid order in this period.", css="revenue")
    handed = analytics.handoffs(session=session, since=since, until=until)
    reasons = table(["Why", "Conversations"],
                    [(REASONS.get(reason, reason), count)
                     for reason, count in handed.reasons.items()],
                    empty="Nobody asked for a person.", css="handoffs")
    return join([
        h("<h2>Revenue by channel</h2>{}", revenue),
        h('<h2>Handed to a person</h2><p id="handoff-rate">{} of {} conversations ({}).</p>{}',
          handed.handed_off, handed.conversations, f"{handed.rate:.1%}", reasons)])


def by_week(rows: list[FunnelDay]) -> list[FunnelDay]:
    """The days summed per week, each named by its Monday."""
    weeks: dict[date, FunnelDay] = {}
    for row in rows:
        monday = row.day - timedelta(days=row.day.weekday())
        week = weeks.setdefault(monday, FunnelDay(monday))
        for stage in STAGES:
            week.counts[stage] += row.counts[stage]
    return list(weeks.values())


def draw(rows: list[FunnelDay]) -> Figure:
    """The funnel of the whole period (bars, with the share of conversations) beside each
    stage day by day, or week by week over more than a month (lines)."""
    totals = [sum(r.counts[s] for r in rows) for s in STAGES]
    drawn = figure(12, 4.6)
    bars, lines = drawn.subplots(1, 2, width_ratios=[2, 3])
    positions = list(range(len(STAGES)))[::-1]
    bars.barh(positions, totals, color="#7a4e2d")
    bars.set_yticks(positions, [LABELS[s] for s in STAGES])
    bars.set_title(f"Funnel, last {len(rows)} days")
    for y, value in zip(positions, totals, strict=True):
        share = f" ({value / totals[0]:.0%})" if totals[0] else ""
        bars.text(value, y, f" {value}{share}", va="center", fontsize=10)
    bars.set_xlim(0, max(totals[0], 1) * 1.35)
    bars.set_xlabel("conversations reaching the stage")
    periods, unit = (by_week(rows), "week") if len(rows) > WEEKLY_AFTER else (rows, "day")
    for stage in STAGES:
        lines.plot([r.day for r in periods], [r.counts[stage] for r in periods], marker="o",
                   markersize=3, label=LABELS[stage])
    lines.set_title(f"Per {unit} (of the day the conversation began, UTC)")
    lines.tick_params(axis="x", labelrotation=45, labelsize=8)
    finish(lines)
    return drawn


@router.get("/merchant/funnel.png")
def funnel_png(_: OwnerDep, session: SessionDep, days: Days = 30) -> Response:
    return png(draw(_days(session, days)))


@router.get("/merchant/funnel")
def funnel_page(actor: OwnerDep, session: SessionDep, days: Days = 30) -> HTMLResponse:
    rows = _days(session, days)
    totals = {s: sum(r.counts[s] for r in rows) for s in STAGES}
    choices = join(h('<a href="{}"{}>{} days</a>', url("/merchant/funnel", days=n),
                     h(' aria-current="page"') if n == days else h(""), n)
                   for n in (7, 30, 90))
    summary = " → ".join(f"{LABELS[s]} {totals[s]}" for s in STAGES)
    rate = (f"{totals['paid'] / totals['conversations']:.1%} of conversations ended paid"
            if totals["conversations"] else "No conversation in this period.")
    daily = table(["Day", *(LABELS[s] for s in STAGES)],
                  [(r.day.isoformat(), *(r.counts[s] for s in STAGES))
                   for r in reversed(rows) if r.counts["conversations"]],
                  empty="No conversation in this period.", css="funnel")
    return page(title="Conversation funnel", actor=actor, body=join([
        h('<p class="paging">{}</p>', choices),
        h('<p id="funnel-summary">{}. {}</p>', summary, rate),
        h('<img class="chart" id="funnel-chart" src="{}" width="1200" height="460" '
          'alt="The funnel: {}">', url("/merchant/funnel.png", days=days), summary),
        daily, _beside(session, days), understanding_section(session, days)]))
