"""Recommendation actions against the real commerce API app (in process, demo shop on
SQLite): on request, after an add to cart, and in a returning shopper's greeting."""

from typing import Any

import httpx
from sqlalchemy import update

from actions.cart import ActionAddToCart
from actions.clients import CommerceClient
from actions.config import ActionSettings
from actions.recommend import MAX_CARDS, ActionGreet, ActionRecommend
from commerce_core.models import Variant
from tests.actions.shopping_helpers import (
    CARD,
    SERVICE,
    SHOPPER,
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
)


def cards_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return message["custom"]["cards"]


def in_stock(shop: Shop, product_id: int) -> bool:
    product = shop.http.get(f"/api/products/{product_id}", headers=SERVICE).json()
    return bool(product["in_stock"])


def check_cards(shop: Shop, cards: list[dict[str, Any]], *, not_in: set[int]) -> None:
    """At most three product cards, each in stock, outside ``not_in``, with its reason and
    the buttons of a search's card."""
    assert 1 <= len(cards) <= MAX_CARDS
    for card in cards:
        assert card["id"] not in not_in
        assert in_stock(shop, card["id"]), card
        assert card["reason"], card
        assert [b["title"] for b in card["buttons"]] == ["Tell me more", "Personalise",
                                                         "Add to cart"]


def test_what_do_you_suggest_offers_three_pieces_outside_the_cart(shop: Shop) -> None:
    # given a mug in the cart
    shop.add("CER-MUG-001")
    mug = shop.sku_id("CER-MUG-001")
    # when
    messages, events = run(ActionRecommend(shop.client()),
                           tracker("what do you suggest", "ask_recommendation"))
    # then
    [message] = messages
    assert message["response"] == "utter_recommend_for_you"
    check_cards(shop, cards_of(message), not_in={mug})
    assert slots_of(events) == {"shown_products": [str(c["id"]) for c in cards_of(message)]}


def test_something_to_go_with_the_mug_for_my_sister_is_anchored_on_the_mug_shown(
        shop: Shop) -> None:
    # given: a mug and a print were shown
    mug, art = shop.sku_id("CER-MUG-004"), shop.sku_id("PRT-ART-001")
    slots = {"shown_products": [str(art), str(mug)]}
    # when
    messages, _ = run(ActionRecommend(shop.client()), tracker(
        "something to go with the mug for my sister", "ask_recommendation",
        [entity("product_type", "mug"), entity("recipient", "sister")], slots=slots))
    # then: the cards go with that mug, said as a gift
    [message] = messages
    name = shop.http.get(f"/api/products/{mug}", headers=SERVICE).json()["name"]
    assert (message["response"], message["recipient"], message["name"]) == (
        "utter_recommend_gift", "sister", name)
    check_cards(shop, cards_of(message), not_in={mug})


def test_a_product_named_in_the_message_is_the_anchor(shop: Shop) -> None:
    messages, _ = run(ActionRecommend(shop.client()), tracker(
        "what goes with the blue willow mug", "ask_recommendation"))
    [message] = messages
    assert message["response"] == "utter_recommend_with"
    assert "Willow" in message["name"]
    assert all("Willow" not in c["name"] for c in cards_of(message))


def test_a_kind_the_conversation_never_showed_is_anchored_on_the_shops_own(
        shop: Shop) -> None:
    messages, _ = run(ActionRecommend(shop.client()), tracker(
        "what goes well with a teapot", "ask_recommendation",
        [entity("product_type", "teapot")]))
    [message] = messages
    assert message["response"] == "utter_recommend_with"
    assert "Teapot" in message["name"], message["name"]
    assert message["name"] not in [c["name"] for c in cards_of(message)]


def test_what_goes_with_it_is_anchored_on_the_product_discussed(shop: Shop) -> None:
    jug = shop.sku_id("CER-JUG-001")
    messages, _ = run(ActionRecommend(shop.client()), tracker(
        "what goes well with it", "ask_recommendation", slots={"product_id": str(jug)}))
    [message] = messages
    assert message["response"] == "utter_recommend_with"
    check_cards(shop, cards_of(message), not_in={jug})


def test_popular_pieces_of_a_kind_are_not_what_goes_with_one(shop: Shop) -> None:
    # given a mug shown
    mug = shop.sku_id("CER-MUG-004")
    # when the shopper asks for popular mugs
    messages, _ = run(ActionRecommend(shop.client()), tracker(
        "what's popular in mugs", "ask_recommendation", [entity("product_type", "mug")],
        slots={"shown_products": [str(mug)]}))
    # then: the shop's best-selling mugs, not what goes with the one shown
    [message] = messages
    assert message["response"] == "utter_recommend_popular"
    assert all("Mug" in c["name"] for c in cards_of(message)), cards_of(message)
    check_cards(shop, cards_of(message), not_in=set())


def test_whats_popular_leaves_out_the_cart_and_what_is_sold_out(shop: Shop) -> None:
    # given: the most popular pieces, the first put in the cart and the second sold out
    first = run(ActionRecommend(shop.client()), tracker("what's popular", "ask_recommendation"))
    top = [c["id"] for c in cards_of(first[0][0])]
    shop.add(shop.http.get(f"/api/products/{top[0]}", headers=SERVICE).json()["variants"][0]
             ["sku"])
    with shop.db() as session:
        session.execute(update(Variant).where(Variant.product_id == top[1]).values(stock=0))
        session.commit()
    shop.app.state.knowledge.refresh()
    # when asked again
    messages, _ = run(ActionRecommend(shop.client()),
                      tracker("what's your bestseller", "ask_recommendation"))
    # then neither comes back
    [message] = messages
    assert message["response"] == "utter_recommend_popular"
    check_cards(shop, cards_of(message), not_in={top[0], top[1]})


def test_an_add_to_cart_is_followed_by_what_goes_well_with_it(shop: Shop) -> None:
    mug = shop.sku_id("CER-MUG-001")
    shop.add("CER-JUG-001")
    messages, events = run(ActionAddToCart(shop.client()), tracker(
        "/add_to_cart", "add_to_cart", [entity("product_id", str(mug))]))
    added, suggested = messages
    assert added["text"].startswith("Added 1 × Hand-Thrown Ceramic Mug")
    assert suggested["response"] == "utter_goes_well_with"
    check_cards(shop, cards_of(suggested), not_in={mug, shop.sku_id("CER-JUG-001")})
    # the cards do not change which products "the second one" means
    assert "shown_products" not in slots_of(events)


class RecommenderDown(httpx.AsyncBaseTransport):
    """The shop's API, but its recommender answers 503 (a separate knowledge service
    that is down)."""

    def __init__(self, shop: Shop) -> None:
        self.api = httpx.ASGITransport(app=shop.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/recommendations"):
            return httpx.Response(503, json={"error": {"code": "unavailable",
                                                       "message": "down"}})
        return await self.api.handle_async_request(request)


def test_an_add_to_cart_stands_when_the_recommender_is_down(shop: Shop) -> None:
    client = CommerceClient(ActionSettings(api_url="http://shop/api"),
                            transport=RecommenderDown(shop))
    messages, _ = run(ActionAddToCart(client), tracker(
        "/add_to_cart", "add_to_cart", [entity("product_id", str(shop.sku_id("CER-MUG-001")))]))
    [added] = messages
    assert added["text"].startswith("Added 1 × Hand-Thrown Ceramic Mug")
    assert [x["sku"] for x in shop.cart()["lines"]] == ["CER-MUG-001"]


def test_a_new_shopper_gets_the_plain_greeting(shop: Shop) -> None:
    messages, events = run(ActionGreet(shop.client()), tracker("hi", "greet"))
    assert [m["response"] for m in messages] == ["utter_greet"]
    assert events == []


def test_a_returning_shopper_is_greeted_with_pieces_picked_for_them(shop: Shop) -> None:
    # given: the shopper bought and paid a mug in an earlier conversation
    shop.add("CER-MUG-001")
    order = shop.http.post(f"/api/shoppers/web/{SHOPPER}/checkout", headers=SERVICE, json={
        "email": "ada@example.com", "address": {
            "name": "Ada Lovelace", "line1": "12 rue des Lilas", "city": "Paris",
            "postal_code": "75011", "country": "FR"}})
    assert order.status_code == 201, order.text
    link = shop.http.post(f"/api/orders/{order.json()['id']}/payment",
                          headers={**SERVICE, "Idempotency-Key": "pay-returning"})
    assert shop.http.post(httpx.URL(link.json()["url"]).path, data=CARD).status_code == 200
    # when they say hello again
    messages, events = run(ActionGreet(shop.client()), tracker("hi", "greet"))
    # then
    [message] = messages
    assert message["response"] == "utter_greet_returning"
    check_cards(shop, cards_of(message), not_in=set())
    assert slots_of(events) == {"shown_products": [str(c["id"]) for c in cards_of(message)]}


def test_the_greeting_never_fails_when_the_shop_is_unreachable() -> None:
    messages, events = run(ActionGreet(unreachable_client()), tracker("hi", "greet"))
    assert [m["response"] for m in messages] == ["utter_greet"]
    assert events == []
