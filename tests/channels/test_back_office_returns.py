"""The returns queue (SQLite and PostgreSQL): the owner accepts or refuses what shoppers ask
to send back, and refunds an accepted return once the parcel is back; each answer audited."""

from __future__ import annotations

import pytest

from channels.merchant import returns
from commerce_core.models import OrderStatus, PaymentStatus
from tests.channels.back_office import (
    BackOffice,
    shop_fixture,  # noqa: F401 - the fixture
)
from tests.channels.fake_rasa import wait_for
from tests.channels.web_chat import recorded


def told(shop: BackOffice, shopper: str, start: str) -> list[str]:
    """What the shopper's conversation was told, starting with ``start``."""
    return [m["text"] for m in recorded(shop.client, shopper)
            if (m["text"] or "").startswith(start)]


def test_the_owner_accepts_a_return_then_refunds_it(shop: BackOffice) -> None:
    owner = shop.owner()
    order = shop.delivered_order("ada")
    shop.ask_return("ada", order["number"], reason="the glaze is chipped")
    queue = shop.client.get("/merchant/returns").text
    assert order["number"] in queue and "the glaze is chipped" in queue
    assert "requested" in queue and "Accept" in queue
    # when
    accepted = shop.post(f"/merchant/returns/{order['number']}/accept")
    # then
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/merchant/returns?done=return_accepted"
    [news] = wait_for(lambda: told(shop, "ada", "Your return of order"),
                      what="the shopper told of the accepted return")
    assert news.startswith(f"Your return of order {order['number']} is accepted.")
    queue = shop.client.get(accepted.headers["location"]).text
    assert "Return accepted: refund the order once the parcel is back." in queue
    assert "Parcel is back: refund" in queue
    refunded = shop.post(f"/merchant/orders/{order['number']}/refund?from=returns")
    assert refunded.status_code == 303
    assert refunded.headers["location"] == "/merchant/returns?done=refunded"
    stored = shop.order(order["number"])
    assert (stored.status, stored.payment_status) == (OrderStatus.REFUNDED,
                                                       PaymentStatus.REFUNDED)
    assert order["number"] not in shop.client.get("/merchant/returns").text  # done with
    answered = shop.client.get("/merchant/returns", params={"show": "all"}).text
    assert order["number"] in answered and "refunded" in answered
    assert [(a[1], a[3].get("return"), a[4].get("return")) for a in shop.audit()] == [
        ("order.ship", None, None), ("return.accept", "requested", "accepted"),
        ("order.refund", "accepted", "accepted")]
    assert all(a[0] == owner for a in shop.audit())


def test_the_owner_refuses_a_return_saying_why(shop: BackOffice) -> None:
    shop.owner()
    order = shop.delivered_order("bob")
    shop.ask_return("bob", order["number"])
    no_reason = shop.post(f"/merchant/returns/{order['number']}/refuse", reason="  ")
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    refused = shop.post(f"/merchant/returns/{order['number']}/refuse",
                        reason="Used for months")
    assert refused.status_code == 303
    [news] = wait_for(lambda: told(shop, "bob", "About your return"),
                      what="the shopper told why the return was refused")
    assert news == (f"About your return of order {order['number']}: the team could not "
                    "accept it (Used for months). Ask for a person here if you would like to "
                    "talk it over.")
    page = shop.client.get(f"/merchant/orders/{order['number']}").text
    assert "Return refused" in page and "reason: Used for months" in page
    assert shop.order(order["number"]).status is OrderStatus.DELIVERED
    again = shop.post(f"/merchant/returns/{order['number']}/accept")
    assert again.status_code == 409 and "no return request waiting" in again.text
    assert [a[1] for a in shop.audit()] == ["order.ship", "return.refuse"]


def test_an_order_nobody_asked_to_return_cannot_be_answered(shop: BackOffice) -> None:
    shop.owner()
    order = shop.paid_order("cy")
    response = shop.post(f"/merchant/returns/{order['number']}/accept")
    assert response.status_code == 409
    assert "no return request waiting for an answer" in response.text
    assert "No return waits for you." in shop.client.get("/merchant/returns").text


def test_the_queue_is_read_a_page_at_a_time_latest_request_first(
        shop: BackOffice, monkeypatch: pytest.MonkeyPatch) -> None:
    # given three return requests, the second refused, and pages of two
    monkeypatch.setattr(returns, "PAGE_SIZE", 2)
    shop.owner()
    numbers = []
    for shopper in ("dee", "eve", "fay"):
        order = shop.delivered_order(shopper)
        shop.ask_return(shopper, order["number"])
        numbers.append(order["number"])
    assert shop.post(f"/merchant/returns/{numbers[1]}/refuse",
                     reason="Used for months").status_code == 303
    # when
    open_ones = shop.client.get("/merchant/returns").text
    first = shop.client.get("/merchant/returns", params={"show": "all"}).text
    second = shop.client.get("/merchant/returns", params={"show": "all", "page": 2}).text
    # then
    assert "page 1 of 1 · 2 returns" in open_ones
    assert [n for n in numbers if n in open_ones] == [numbers[0], numbers[2]]
    assert open_ones.index(numbers[2]) < open_ones.index(numbers[0])
    assert "page 1 of 2 · 3 returns" in first
    assert [n for n in numbers if n in first] == [numbers[1], numbers[2]]
    assert first.index(numbers[2]) < first.index(numbers[1])
    assert 'href="/merchant/returns?show=all&amp;page=2"' in first
    assert "page 2 of 2 · 3 returns" in second
    assert [n for n in numbers if n in second] == [numbers[0]]
    assert shop.client.get("/merchant/returns", params={"page": 0}).status_code == 422
