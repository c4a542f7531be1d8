"""Reviews in the conversation, with the real model, action server and shop: the stars the
bot asks for after a delivery, and "I want to review my mug"."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from commerce_core import clock
from commerce_core.db import make_engine
from commerce_core.shipment.service import refresh_deliveries
from tests.channels.web_chat import owner
from tests.e2e import test_journey_service
from tests.e2e.stack import Stack
from tests.e2e.test_journey_service import (
    api,
    bot_texts,
    new_conversation,
    pay,
    place_order,
    say,
    ship,
)

pytestmark = pytest.mark.e2e
merchant = test_journey_service.merchant
"""A merchant API key made with the admin command (the fixture of the service journey)."""


def deliver_everything_shipped(stack: Stack) -> None:
    """The carrier's parcels ten days on, as the shop's periodic job follows them."""
    engine = make_engine(f"sqlite:///{stack.workdir / 'var' / 'atelier.db'}")
    try:
        with sessionmaker(engine)() as session:
            refresh_deliveries(session=session, now=clock.now() + timedelta(days=10))
            session.commit()
    finally:
        engine.dispose()


def delivered(stack: Stack, merchant: dict[str, str], conversation: str) -> dict[str, Any]:
    say(stack, conversation, "hello")  # the widget's conversation, proven its own
    order = place_order(stack, conversation)
    pay(stack, order)
    ship(stack, merchant, order)
    deliver_everything_shipped(stack)
    return order


def history(stack: Stack, conversation: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.app_url}/api/chat/{conversation}/history",
                         headers=owner(conversation), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)
    return result


def reviews(stack: Stack, conversation: str) -> list[dict[str, Any]]:
    return [line["review"] for line in api(stack, "GET", f"/shoppers/web/{conversation}/reviews")
            if line["review"]]


def test_stars_asked_after_delivery_then_a_comment(stack: Stack,
                                                   merchant: dict[str, str]) -> None:
    # given: a delivered order; the bot has asked for stars in the conversation
    conversation = new_conversation()
    order = delivered(stack, merchant, conversation)
    ask = wait_for(lambda: [m for m in history(stack, conversation)
                            if (m.get("text") or "").startswith("How do you like the ")],
                   "the question for stars")
    [question] = ask
    assert [b["title"] for b in question["buttons"]] == ["★★★★★", "★★★★", "★★★", "★★", "★"]
    # when: the shopper taps four stars, then writes a few words
    asked = say(stack, conversation, "★★★★", payload=question["buttons"][1]["payload"])
    thanked = say(stack, conversation, "Lovely speckles, a little smaller than I thought")
    # then
    assert bot_texts(asked) == ["Thank you! Would you like to add a few words for other "
                                "shoppers? Write them here, or say \"no\"."]
    [thanks] = bot_texts(thanked)
    assert thanks.startswith("Thank you! Your ★★★★☆ review of the ")
    [review] = reviews(stack, conversation)
    assert (review["order_number"], review["rating"], review["comment"]) == (
        order["number"], 4, "Lovely speckles, a little smaller than I thought")
    # and the product's details now show its stars
    details = say(stack, conversation, "tell me more",
                  payload=f'/product_details{{"product_id": "{review["product_id"]}"}}')
    assert re.search(r"\nRated [1-5]\.\d out of 5 \(\d+ reviews?\)\.", bot_texts(details)[0])


def test_asking_to_review_the_mug_then_stars_in_words_and_no_comment(
        stack: Stack, merchant: dict[str, str]) -> None:
    # given
    conversation = new_conversation()
    delivered(stack, merchant, conversation)
    # when
    stars = say(stack, conversation, "i want to review my mug")
    asked = say(stack, conversation, "five stars")
    thanked = say(stack, conversation, "no thanks")
    # then
    [question] = [m for m in stars if m["role"] == "bot"]
    assert question["text"].startswith("How many stars would you give the ")
    assert len(question["buttons"]) == 5
    assert bot_texts(asked)[-1].startswith("Thank you! Would you like to add a few words")
    assert bot_texts(thanked)[-1].startswith("Thank you! Your ★★★★★ review of the ")
    [review] = reviews(stack, conversation)
    assert (review["rating"], review["comment"]) == (5, "")


def test_nothing_delivered_yet_nothing_to_review(stack: Stack) -> None:
    conversation = new_conversation()
    place_order(stack, conversation)
    messages = say(stack, conversation, "I'd like to leave a review")
    assert bot_texts(messages) == [
        "Once an order has been delivered, you can rate its products here. I don't see a "
        "delivered order of yours yet."]
