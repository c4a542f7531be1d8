"""Recommendations in conversations through ``POST /api/chat`` with the real model, action
server and app, on the demo shop and its year of demo orders: on request, as a gift to go
with a piece, after an add to cart, and in a returning shopper's greeting."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_journey_shopping import Chat, button, cards, check_out, pay, text, wait_paid

pytestmark = pytest.mark.e2e


def recommended(chat: Chat, messages: list[dict[str, Any]], *,
                not_in: Collection[int] = ()) -> list[dict[str, Any]]:
    """The cards of a recommendation: at most three, each a normal product card with its
    reason, in stock, and none of ``not_in`` or of the shopper's cart."""
    found = cards(messages)
    in_cart = {line["product_id"] for line in chat.cart()["lines"]}
    assert 1 <= len(found) <= 3, found
    for card in found:
        assert card["reason"], card
        assert card["id"] not in {*not_in, *in_cart}, card
        assert chat.api(f"/products/{card['id']}")["in_stock"], card
        assert [b["title"] for b in card["buttons"]] == ["Tell me more", "Personalise",
                                                         "Add to cart"]
    return found


def add_one(chat: Chat, offered: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict]]:
    """Press "Add to cart" on the first offered card that needs no size or personalising
    first; returns (that card, the bot's answer)."""
    for card in offered:
        answer = chat.press(button([{"buttons": [], "cards": [card]}], "Add to cart"))
        if text(answer).startswith("Added 1 × "):
            return card, answer
    raise AssertionError(f"none of {[c['name'] for c in offered]} could be added at once")


def test_gift_to_go_with_a_mug_popular_pieces_and_what_goes_with_an_added_one(
        stack: Stack) -> None:
    chat = Chat(stack)
    chat.say("hello")
    # given: the shopper looks at a mug in detail
    mugs = chat.say("show me blue ceramic mugs")
    mug = cards(mugs)[0]
    assert text(chat.press(button(mugs, "Tell me more"))).startswith(mug["name"])
    # when: a gift to go with it
    gift = chat.say("something to go with the mug for my sister")
    # then: pieces bought with that mug, said as a gift
    assert text(gift) == f"For your sister, here is what goes well with the {mug['name']}:"
    picks = recommended(chat, gift, not_in={mug["id"]})
    assert any(mug["name"] in c["reason"] for c in picks), [c["reason"] for c in picks]

    # what the shop sells most, from its order history
    popular = chat.say("what's popular")
    assert text(popular) == "Here is what shoppers choose most in the shop right now:"
    assert all(c["reason"].startswith("popular in the shop: ordered ")
               for c in recommended(chat, popular))

    # an added piece is followed by what goes well with it: never in the cart
    chosen, added = add_one(chat, picks)
    assert "Goes well with it:" in text(added)
    after = recommended(chat, added, not_in={chosen["id"]})

    # "recommend me something" speaks of the cart now
    suggested = chat.say("recommend me something")
    assert text(suggested) == "Here are a few pieces I'd pick for you:"
    recommended(chat, suggested)
    # and a recommended card adds like any other
    other, _ = add_one(chat, after)
    assert sorted(line["product_id"] for line in chat.cart()["lines"]) == sorted(
        [chosen["id"], other["id"]])


def test_a_returning_shopper_is_greeted_with_pieces_picked_for_them(stack: Stack) -> None:
    # given: a demo shopper with a year of orders under this web identity
    chat = Chat(stack)
    chat.id = "demo-shopper-07"
    # when
    greeting = chat.say("hi")
    # then
    assert text(greeting).startswith("Welcome back! Picked for you, from what you chose before:")
    picks = recommended(chat, greeting)
    assert any(not c["reason"].startswith("popular in the shop") for c in picks), picks
    # "the second one" is one of the picks
    second = chat.say("tell me more about the second one")
    assert text(second).startswith(f"{picks[1]['name']} — "), text(second)


def test_a_first_order_paid_makes_the_next_greeting_personal(stack: Stack) -> None:
    # given: a new shopper is greeted plainly, then buys and pays a mug
    chat = Chat(stack)
    first = chat.say("hi")
    assert text(first).startswith("Hi, welcome to the shop!")
    assert not [c for m in first for c in m["cards"]]
    mugs = chat.say("show me blue ceramic mugs")
    chat.press(button(mugs, "Add to cart"))
    number, url = check_out(chat, email="ines@example.com", name="Ines Duarte",
                            address="3 rua das Flores, 1200-195 Lisboa, Portugal")
    assert pay(chat, url, number) == 200
    assert wait_paid(chat, number)["status"] == "paid"
    # when they come back and say hello
    again = chat.say("hi")
    # then the greeting picks for them
    assert text(again).startswith("Welcome back! Picked for you")
    recommended(chat, again)
