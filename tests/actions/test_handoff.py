"""Handoff to a person and back, against the real app in process (demo shop on SQLite)."""

from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from actions.clients.aftersale import AfterSaleClient
from actions.handoff import ActionHandback, ActionHandoff, is_frustrated
from actions.order_changes import ActionConfirmOrderChange
from tests.actions.service_helpers import (
    SERVICE,
    SHOPPER,
    Shop,
    bot_turn,
    down_settings,
    run,
    tracker,
    user,
)
from tests.actions.wording import BACK_TEXT, HANDOFF_TEXT

pytestmark = pytest.mark.service_shop


def handoff_of(messages: list[dict]) -> dict:
    [message] = messages
    assert message["text"] == HANDOFF_TEXT
    return message["custom"]["handoff"]


def test_asking_for_a_person_hands_off_with_a_summary_of_cart_and_order(shop: Shop) -> None:
    # given: an order discussed, and a piece in the cart
    order = shop.order()
    added = shop.client.post(f"/api/shoppers/web/{SHOPPER}/cart/lines", headers=SERVICE,
                             json={"sku": "CER-MUG-001", "quantity": 2})
    cart = added.json()
    t = tracker(user("where is my order", "order_status"), *bot_turn("action_order_status"),
                user("can I talk to a human", "request_human"),
                slots={"order_number": order["number"]})
    # when
    messages, events = run(ActionHandoff(shop.aftersale()), t)
    # then
    assert handoff_of(messages) == {
        "reason": "shopper_request",
        "summary": (f'Asked for a person; last message: "where is my order"; was asking '
                    f"about an order; order {order['number']}; cart: 2 items, "
                    f"{cart['subtotal']} EUR.")}
    assert events == [SlotSet("handoff_offer", None), SlotSet("fallback_count", 0.0)]


def test_an_angry_request_is_marked_frustrated() -> None:
    t = tracker(user("this is RIDICULOUS, get me a human", "request_human"))
    messages, _ = run(ActionHandoff(AfterSaleClient(down_settings())), t)
    # the shop being down only leaves the cart out of the summary
    assert handoff_of(messages) == {
        "reason": "frustrated",
        "summary": 'Shopper seems frustrated; last message: "this is RIDICULOUS, get me a '
                   'human".'}


def test_the_person_button_after_two_failures_says_why(shop: Shop) -> None:
    t = tracker(user("blorp", "nlu_fallback"), *bot_turn("action_fallback"),
                user("/request_human", "request_human"),
                slots={"handoff_offer": "repeated_failure"})
    messages, _ = run(ActionHandoff(shop.aftersale()), t)
    assert handoff_of(messages) == {
        "reason": "repeated_failure",
        "summary": 'The bot did not understand twice; last message: "blorp".'}


def test_yes_to_the_offer_of_a_person_after_an_unanswered_question(shop: Shop) -> None:
    t = tracker(user("do you sell opera tickets?", "faq"), *bot_turn("action_answer_faq"),
                user("yes", "affirm"), slots={"handoff_offer": "faq_unanswered"})
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()), t)
    assert handoff_of(messages) == {
        "reason": "faq_unanswered",
        "summary": ("The FAQ had no confident answer; last message: \"do you sell opera "
                    "tickets?\"; was asking a question.")}
    assert events == [SlotSet("handoff_offer", None), SlotSet("fallback_count", 0.0)]


def test_no_to_the_offer_of_a_person_after_an_unanswered_question(shop: Shop) -> None:
    t = tracker(user("do you sell opera tickets?", "faq"), *bot_turn("action_answer_faq"),
                user("/deny", "deny"), slots={"handoff_offer": "faq_unanswered"})
    messages, events = run(ActionConfirmOrderChange(shop.aftersale()), t)
    assert [m["response"] for m in messages] == ["utter_no_problem"]
    assert events == [SlotSet("handoff_offer", None)]


def test_an_old_offer_is_not_taken_for_the_reason(shop: Shop) -> None:
    t = tracker(user("blorp", "nlu_fallback"), *bot_turn("action_fallback"),
                user("blue mugs", "search_product"), *bot_turn("action_search_products"),
                user("human please", "request_human"),
                slots={"handoff_offer": "repeated_failure"})
    messages, _ = run(ActionHandoff(shop.aftersale()), t)
    assert handoff_of(messages)["reason"] == "shopper_request"


def test_handback_resumes_the_active_form() -> None:
    t = tracker(user("/handback", "handback"), active_loop={"name": "checkout_form"})
    messages, events = run(ActionHandback(), t)
    assert [m["text"] for m in messages] == [BACK_TEXT]
    assert events == [FollowupAction("checkout_form")]


def test_handback_without_a_form_asks_what_next() -> None:
    messages, events = run(ActionHandback(), tracker(user("/handback", "handback")))
    assert [m["text"] for m in messages] == [BACK_TEXT]
    assert events == []


@pytest.mark.parametrize(("text", "angry"), [
    ("this is useless", True), ("I'm so frustrated with this", True), ("where is it!!", True),
    ("WHERE IS MY PARCEL ALREADY", True), ("can I talk to a person", False),
    ("I want the BLUE one", False), ("Thanks!", False)])
def test_frustration(text: str, angry: bool) -> None:
    assert is_frustrated(text) is angry
