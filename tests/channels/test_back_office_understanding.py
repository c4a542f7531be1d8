"""How well the bot understood, beside the funnel (SQLite and PostgreSQL): each turn through
the real gateway is kept with the time the bot took, in milliseconds, and whether Rasa's
channel said it understood (Rasa stood in for over HTTP); the back office draws the
misunderstood rate per day and lists the slowest answers."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from channels.merchant.understanding import SHOWN_CHARS, by_week
from commerce_core import clock
from commerce_core.backoffice.analytics import UnderstandingDay, understanding_by_day
from commerce_core.models import BotTurn
from tests.channels.back_office import BackOffice, shop_fixture  # noqa: F401 - the fixture
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import chat_body

MASHING = "zorp flim flam"
SLOW = "which of your vases would suit a very long table"
LONG = ("I am looking for " + "a rather special present " * 8).strip()


@pytest.fixture(autouse=True)
def bot(fake_rasa: FakeRasa) -> None:
    fake_rasa.not_understood |= {MASHING, LONG}
    fake_rasa.delays[SLOW] = SLOW_SECONDS


# Well above what a plain turn takes on a loaded machine, so that SLOW is the slowest answer.
SLOW_SECONDS = 1.0


def say(shop: BackOffice, conversation_id: str, text: str) -> int:
    """The shopper's message through the gateway; returns the request's wall time in ms."""
    started = time.perf_counter()
    response = shop.client.post("/api/chat", json=chat_body(conversation_id, text))
    assert response.status_code == 200, response.text
    return round((time.perf_counter() - started) * 1000)


def turns(shop: BackOffice) -> list[BotTurn]:
    with shop.db() as session:
        return list(session.scalars(select(BotTurn).order_by(BotTurn.id)))


def test_each_turn_is_kept_with_its_duration_and_whether_the_bot_understood(
        shop: BackOffice) -> None:
    # when
    walls = [say(shop, "turns-a", "hello"), say(shop, "turns-a", MASHING),
             say(shop, "turns-b", SLOW)]
    # then
    kept = turns(shop)
    assert [(t.conversation_id, t.channel, t.text, t.understood) for t in kept] == [
        ("turns-a", "web", "hello", True), ("turns-a", "web", MASHING, False),
        ("turns-b", "web", SLOW, True)]
    # the bot's time, within the request's: at least the delay Rasa took, never more than
    # the whole request (a plain turn's own figure depends on the machine's load)
    assert kept[2].duration_ms >= SLOW_SECONDS * 1000
    assert all(0 <= t.duration_ms <= wall + 1 for t, wall in zip(kept, walls, strict=True))


def test_the_funnel_page_shows_the_misunderstood_rate_and_the_slowest_answers(
        shop: BackOffice) -> None:
    # given
    shop.owner()
    for n, text in enumerate(["hello", MASHING, SLOW, LONG]):
        say(shop, f"turns-{n}", text)
    # when
    page = shop.client.get("/merchant/funnel", params={"days": 7})
    chart = shop.client.get("/merchant/understanding.png", params={"days": 7})
    # then
    assert page.status_code == 200
    assert '<p id="misunderstood-rate">2 of 4 messages not understood (50.0%).</p>' in page.text
    rows = page.text.split('<table class="slowest">')[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 4
    assert rows[0].startswith(f"<td>{SLOW}</td><td>web</td>")
    shown = LONG[:SHOWN_CHARS - 1] + "…"
    assert any(r.startswith(f"<td>{shown}</td><td>web</td>") and "<td>no</td>" in r
               for r in rows)
    assert 'id="understanding-chart" src="/merchant/understanding.png?days=7"' in page.text
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(chart.content))
    assert image.size == (1200, 360)
    assert len(set(image.convert("RGB").getdata())) > 20  # drawn, not blank
    today = clock.now().date()
    with shop.db() as session:
        days = understanding_by_day(session=session, first=today - timedelta(days=6),
                                    last=today)
    assert [(d.turns, d.misunderstood) for d in days] == [(0, 0)] * 6 + [(4, 2)]


def test_the_understanding_chart_needs_the_owner_and_is_weekly_over_a_month(
        shop: BackOffice) -> None:
    assert shop.client.get("/merchant/understanding.png",
                           follow_redirects=False).status_code == 303
    shop.owner()
    assert shop.client.get("/merchant/understanding.png",
                           params={"days": 400}).status_code == 422
    assert "The bot answered no message in this period." in shop.client.get(
        "/merchant/funnel").text
    chart = shop.client.get("/merchant/understanding.png", params={"days": 90})
    assert chart.status_code == 200
    assert Image.open(io.BytesIO(chart.content)).size == (1200, 360)
    first = date(2026, 11, 4)  # a Wednesday
    days = [UnderstandingDay(first + timedelta(days=i), turns=3, misunderstood=1)
            for i in range(14)]
    assert [(w.day, w.turns, w.misunderstood) for w in by_week(days)] == [
        (date(2026, 11, 2), 15, 5), (date(2026, 11, 9), 21, 7), (date(2026, 11, 16), 6, 2)]
