"""The conversation funnel (SQLite and PostgreSQL): conversations through the real gateway
(Rasa stood in for over HTTP), a shopper's cart, checkout and card payment, counted per
day and drawn as a PNG chart on the server."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from channels.merchant.funnel import by_week, no_result_replies
from commerce_core import clock
from commerce_core.backoffice.funnel import FunnelDay, funnel
from tests.channels.back_office import (
    MUG,
    SERVICE,
    BackOffice,
    address,
    shop_fixture,  # noqa: F401 - the fixture
)
from tests.channels.fake_rasa import FakeRasa
from tests.channels.web_chat import chat_body

NOTHING_FOUND = ("I couldn't find anything like that in the shop. Could you describe it "
                 "differently, or try a wider budget?")
CARDS = [{"text": "Here are two mugs.", "custom": {"cards": [
    {"id": 1, "sku": MUG, "name": "Hand-Thrown Ceramic Mug", "price": "32.00",
     "currency": "EUR", "image_url": "", "url": "", "buttons": []}]}}]


@pytest.fixture(autouse=True)
def bot_answers(fake_rasa: FakeRasa) -> None:
    fake_rasa.answers["show me mugs"] = CARDS
    fake_rasa.answers["a unicorn lamp"] = [{"text": NOTHING_FOUND}]
    fake_rasa.answers["do you ship to mars"] = [{
        "text": "Let me find a person.",
        "custom": {"handoff": {"reason": "faq_unanswered", "summary": "Shipping to Mars"}}}]


def say(shop: BackOffice, conversation_id: str, text: str) -> None:
    response = shop.client.post("/api/chat", json=chat_body(conversation_id, text))
    assert response.status_code == 200, response.text


def test_the_bots_no_result_reply_is_read_from_its_domain() -> None:
    assert no_result_replies() == frozenset({NOTHING_FOUND})
    assert no_result_replies(Path("/nonexistent")) == frozenset()


def test_the_funnel_counts_each_stage_a_conversation_reached(shop: BackOffice) -> None:
    # given four shoppers of today: one buys, one finds nothing, one only says hello, one
    # asks what the bot cannot answer and is handed to a person
    shop.owner()
    say(shop, "funnel-buyer", "show me mugs")
    added = shop.client.post("/api/shoppers/web/funnel-buyer/cart/lines", headers=SERVICE,
                             json={"sku": MUG, "quantity": 1})
    assert added.status_code == 201, added.text
    order = shop.client.post("/api/shoppers/web/funnel-buyer/checkout", headers=SERVICE,
                             json={"email": "buyer@example.com", "address": address("Bea Buyer")})
    assert order.status_code == 201, order.text
    link = shop.client.post(f"/api/orders/{order.json()['id']}/payment",
                            headers={**SERVICE, "Idempotency-Key": "funnel-pay"})
    paid = shop.client.post(httpx.URL(link.json()["url"]).path,
                            data={"name": "Bea Buyer", "number": "4242 4242 4242 4242",
                                  "expiry": "12/39", "cvc": "123"})
    assert paid.status_code == 200
    say(shop, "funnel-nothing", "a unicorn lamp")
    say(shop, "funnel-hello", "hello")
    say(shop, "funnel-mars", "do you ship to mars")
    # when
    today = clock.now().date()
    with shop.db() as session:
        days = funnel(session=session, first=today - timedelta(days=6), last=today,
                      no_results=no_result_replies())
    page = shop.client.get("/merchant/funnel", params={"days": 7})
    chart = shop.client.get("/merchant/funnel.png", params={"days": 7})
    # then
    assert [d.day for d in days][-1] == today and len(days) == 7
    assert days[-1].counts == {"conversations": 4, "searched": 2, "shown": 1, "added": 1,
                               "checkout": 1, "paid": 1}
    assert all(sum(d.counts.values()) == 0 for d in days[:-1])
    assert page.status_code == 200
    assert ("conversations 4 → searched 2 → products shown 1 → added to cart 1 → checkout 1 "
            "→ paid 1. 25.0% of conversations ended paid") in page.text
    assert f"<td>{today.isoformat()}</td><td>4</td><td>2</td><td>1</td>" in page.text
    total = order.json()["total"]
    assert (f"<td>web</td><td>1</td><td>{total} EUR</td><td>{total} EUR</td>"
            in page.text)
    assert "1 of 4 conversations (25.0%)." in page.text
    assert "<td>question the bot could not answer</td><td>1</td>" in page.text
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(chart.content))
    assert image.size == (1200, 460)
    assert len(set(image.convert("RGB").getdata())) > 20  # drawn, not blank


def test_the_funnel_needs_the_owner_and_a_sensible_period(shop: BackOffice) -> None:
    assert shop.client.get("/merchant/funnel.png", follow_redirects=False).status_code == 303
    shop.owner()
    assert shop.client.get("/merchant/funnel", params={"days": 400}).status_code == 422
    empty = shop.client.get("/merchant/funnel").text
    assert "No conversation in this period." in empty


def test_more_than_a_month_is_drawn_week_by_week(shop: BackOffice) -> None:
    # given 14 days from a Wednesday, two conversations each
    first = date(2026, 11, 4)
    rows = [FunnelDay(first + timedelta(days=i)) for i in range(14)]
    for row in rows:
        row.counts["conversations"] = 2
    # when
    weeks = by_week(rows)
    # then: three weeks named by their Mondays, holding 5, 7 and 2 of the days
    assert [(w.day, w.counts["conversations"]) for w in weeks] == [
        (date(2026, 11, 2), 10), (date(2026, 11, 9), 14), (date(2026, 11, 16), 4)]
    shop.owner()
    chart = shop.client.get("/merchant/funnel.png", params={"days": 90})
    assert chart.status_code == 200
    assert Image.open(io.BytesIO(chart.content)).size == (1200, 460)
