"""The fallback action against the real app (FAQ first, one clarifying question, then a
person)."""

from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from sqlalchemy import func, select

from actions.clients.knowledge import KnowledgeClient
from actions.fallback import ActionFallback, ActionOutOfScope, asks_to_see
from commerce_core.models import UnansweredQuestion
from tests.actions.service_helpers import (
    Shop,
    bot_turn,
    down_settings,
    entity,
    run,
    tracker,
    user,
)
from tests.actions.wording import CLARIFY, OFFER, OUT_OF_SCOPE

PERSON = {"title": "Talk to a person", "payload": "/request_human"}


RANKING = [{"name": "nlu_fallback", "confidence": 0.3},
           {"name": "search_product", "confidence": 0.25},
           {"name": "affirm", "confidence": 0.2},
           {"name": "order_status", "confidence": 0.15},
           {"name": "view_cart", "confidence": 0.1},
           {"name": "faq", "confidence": 0.05}]


def kept_for_the_merchant(shop: Shop) -> int:
    with shop.db() as session:
        return session.scalar(select(func.count()).select_from(UnansweredQuestion)) or 0


def test_first_failure_asks_one_question_with_the_likely_intents(faq_shop: Shop) -> None:
    # given: a message that is not a question, with a colour in it
    kept = kept_for_the_merchant(faq_shop)
    t = tracker(user("blue thing for the mantle", "nlu_fallback",
                     [entity("colour", "blue")], ranking=RANKING))
    # when
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    # then
    assert [(m["text"], m["buttons"]) for m in messages] == [(CLARIFY, [
        {"title": "Find a product", "payload": '/search_product{"colour": "blue"}'},
        {"title": "Where is my order?", "payload": '/order_status{"colour": "blue"}'},
        {"title": "Show my cart", "payload": '/view_cart{"colour": "blue"}'}])]
    assert events == [SlotSet("fallback_count", 1.0), SlotSet("handoff_offer", None)]
    assert kept_for_the_merchant(faq_shop) == kept  # checked with the FAQ, not kept


def test_second_failure_in_a_row_offers_a_person(faq_shop: Shop) -> None:
    t = tracker(user("blorp", "nlu_fallback", ranking=RANKING), slots={"fallback_count": 1.0})
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert [(m["text"], m["buttons"]) for m in messages] == [
        (OFFER, [PERSON, {"title": "Keep trying", "payload": "/deny"}])]
    assert events == [SlotSet("fallback_count", 2.0),
                      SlotSet("handoff_offer", "repeated_failure")]


def test_without_a_ranking_the_main_things_are_offered(faq_shop: Shop) -> None:
    messages, _ = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()),
                      tracker(user("blorp", "nlu_fallback")))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/search_product",
                                                              "/order_status"]


def test_a_low_confidence_question_goes_to_the_faq_first(faq_shop: Shop,
                                                         shipping_answer: str) -> None:
    t = tracker(user("how long does delivery take?", "nlu_fallback", ranking=RANKING),
                slots={"fallback_count": 1.0})
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert [m["text"] for m in messages] == [shipping_answer.strip()]
    assert events == [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None),
                      SlotSet("fallback_count", 0.0)]


def test_a_low_confidence_statement_the_faq_covers_gets_its_answer(faq_shop: Shop) -> None:
    # given: not a question, and not understood, but what the FAQ's candle entry is about
    kept = kept_for_the_merchant(faq_shop)
    t = tracker(user("my candle is tunneling", "nlu_fallback", ranking=RANKING),
                slots={"fallback_count": 1.0})
    # when
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    # then
    [message] = messages
    assert "wick" in message["text"], message
    assert events == [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None),
                      SlotSet("fallback_count", 0.0)]
    assert kept_for_the_merchant(faq_shop) == kept  # only checked, as it is no question


def test_a_question_the_faq_cannot_answer_is_clarified(faq_shop: Shop) -> None:
    t = tracker(user("what is the meaning of the blorp?", "nlu_fallback", ranking=RANKING))
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert messages[0]["text"] == CLARIFY
    assert events == [SlotSet("fallback_count", 1.0), SlotSet("handoff_offer", None)]


def test_an_angry_message_goes_to_a_person(faq_shop: Shop) -> None:
    t = tracker(user("this is USELESS, where is my stuff", "nlu_fallback", ranking=RANKING))
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert messages[0]["custom"]["handoff"]["reason"] == "frustrated"
    assert events == [SlotSet("handoff_offer", None), SlotSet("fallback_count", 0.0)]


def test_an_email_while_a_lookup_waits_goes_to_the_lookup(faq_shop: Shop) -> None:
    t = tracker(user("ada@example.com", "nlu_fallback"), slots={"lookup_number": "AT-ABC123"})
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert messages == []
    assert events == [FollowupAction("action_order_lookup")]


@pytest.mark.parametrize("answer", ["AT-99999", "it's #448120993817", "AT-7K2M9Q"])
def test_a_number_given_where_the_order_number_is_asked_goes_to_the_order(
        faq_shop: Shop, answer: str) -> None:
    """Whatever the model made of it, the answer to "tell me the order number" is looked up
    (or told not to be one of ours), not "not sure what you mean"."""
    t = tracker(user("where is my order", "order_status"),
                *bot_turn("action_order_status", response="utter_no_orders"),
                user(answer, "nlu_fallback"))
    messages, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert (messages, events) == ([], [FollowupAction("action_order_status")])
    # a number typed out of the blue is not taken for one
    t = tracker(user(answer, "nlu_fallback"))
    _, events = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()), t)
    assert FollowupAction("action_order_status") not in events


def test_a_message_out_of_scope_that_the_faq_covers_gets_its_answer(faq_shop: Shop) -> None:
    kept = kept_for_the_merchant(faq_shop)
    t = tracker(user("the bank refused my card payment", "out_of_scope"))
    messages, events = run(ActionOutOfScope(faq_shop.knowledge()), t)
    [message] = messages
    assert message["text"].startswith("Sorry about that! Nothing has been charged."), message
    assert events == [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None)]
    assert kept_for_the_merchant(faq_shop) == kept


@pytest.mark.parametrize("text", ["tell me a joke", "what's the weather in paris tomorrow",
                                  "/out_of_scope"])
def test_a_message_out_of_scope_the_faq_does_not_cover_hears_what_the_bot_does(
        faq_shop: Shop, text: str) -> None:
    kept = kept_for_the_merchant(faq_shop)
    messages, events = run(ActionOutOfScope(faq_shop.knowledge()),
                           tracker(user(text, "out_of_scope")))
    [message] = messages
    assert message["text"].startswith(OUT_OF_SCOPE)
    assert [b["payload"] for b in message["buttons"]] == ["/search_product", "/order_status"]
    assert events == []
    assert kept_for_the_merchant(faq_shop) == kept  # not a question the FAQ lacks


def test_out_of_scope_with_the_faq_unreachable_still_answers() -> None:
    messages, _ = run(ActionOutOfScope(KnowledgeClient(down_settings())),
                      tracker(user("the bank refused my card payment", "out_of_scope")))
    assert [m["text"][:len(OUT_OF_SCOPE)] for m in messages] == [OUT_OF_SCOPE]


@pytest.mark.parametrize(("text", "what"), [
    ("show me homeware", "homeware"), ("hey, do you sell terrariums?", "terrariums"),
    ("im looking for something for my kitchen", "something for my kitchen"),
    ("i want to talk to someone", None), ("any news on my order", None),
    ("show me how to pay", None), ("i need help", None), ("i want my money back", None),
    ("blue thing for the mantle", None)])
def test_a_request_to_see_pieces_is_told_from_other_requests(text: str, what: str | None
                                                              ) -> None:
    assert asks_to_see(text) == what


def test_a_piece_reported_damaged_that_the_faq_does_not_cover_goes_to_a_person(
        faq_shop: Shop) -> None:
    messages, _ = run(ActionFallback(faq_shop.knowledge(), faq_shop.aftersale()),
                      tracker(user("my necklace snapped after two days", "nlu_fallback",
                                   ranking=RANKING)))
    assert [m["response"] for m in messages] == ["utter_handoff_damaged"]
    assert messages[0]["custom"]["handoff"]["reason"] == "damaged"
