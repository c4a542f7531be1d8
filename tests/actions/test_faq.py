"""The FAQ action against the real app: the merchant's FAQ files, the real embedding model."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.clients.knowledge import KnowledgeClient
from actions.faq import ActionAnswerFaq
from actions.faq_routing import looks_like_question, reaches_faq
from actions.order_changes import ActionCancelOrder, ActionRequestRefund
from tests.actions.service_helpers import (
    Shop,
    bot_turn,
    down_settings,
    entity,
    run,
    tracker,
    user,
)
from tests.actions.wording import ANSWERS_UNAVAILABLE as UNAVAILABLE
from tests.actions.wording import NOT_SURE

PERSON = {"title": "Talk to a person", "payload": "/request_human"}


def test_a_faq_question_gets_the_merchants_answer_as_written(faq_shop: Shop,
                                                             shipping_answer: str) -> None:
    # given
    t = tracker(user("how long does delivery take?", "faq"))
    # when
    messages, events = run(ActionAnswerFaq(faq_shop.knowledge()), t)
    # then
    assert [m["text"] for m in messages] == [shipping_answer.strip()]
    assert events == [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None)]


def test_no_confident_answer_says_so_offers_candidates_and_a_person(faq_shop: Shop) -> None:
    t = tracker(user("do you sell tickets to the opera in vienna?", "faq"))
    messages, events = run(ActionAnswerFaq(faq_shop.knowledge()), t)
    [message] = messages
    assert message["text"].startswith(NOT_SURE)
    assert message["text"].endswith("Or I can put you in touch with a person.")
    *candidates, person = message["buttons"]
    assert person == PERSON and 1 <= len(candidates) <= 3
    assert [b["payload"] for b in candidates] == [
        f'/faq{{"ordinal": "{i}"}}' for i in range(1, len(candidates) + 1)]
    assert events == [SlotSet("faq_candidates", [b["title"] for b in candidates]),
                      SlotSet("handoff_offer", "faq_unanswered")]


def test_a_candidate_button_answers_that_question(faq_shop: Shop, shipping_answer: str) -> None:
    t = tracker(user("when does it come", "faq"), *bot_turn("action_answer_faq"),
                user('/faq{"ordinal": "2"}', "faq", [entity("ordinal", "2")]),
                slots={"faq_candidates": ["Do you gift wrap?", "How long does delivery take?"]})
    messages, _ = run(ActionAnswerFaq(faq_shop.knowledge()), t)
    assert [m["text"] for m in messages] == [shipping_answer.strip()]


def test_a_faq_button_after_a_clarifying_question_asks_what_was_typed(
        faq_shop: Shop, shipping_answer: str) -> None:
    t = tracker(user("how long does delivery take", "nlu_fallback"),
                *bot_turn("action_fallback"), user("/faq", "faq"))
    messages, _ = run(ActionAnswerFaq(faq_shop.knowledge()), t)
    assert [m["text"] for m in messages] == [shipping_answer.strip()]


def test_knowledge_api_down_gives_an_apology() -> None:
    messages, events = run(ActionAnswerFaq(KnowledgeClient(down_settings())),
                           tracker(user("do you gift wrap?", "faq")))
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert events == []


@pytest.mark.parametrize(("text", "question"), [
    ("how long does delivery take", True), ("Can I return a ring", True),
    ("my order?", True), ("blue mugs", False), ("whatever", False), ("showcase", False)])
def test_what_looks_like_a_question(text: str, question: bool) -> None:
    assert looks_like_question(text) is question


@pytest.mark.parametrize(("action", "question"), [
    (ActionRequestRefund, "if my sister doesn't like it can she send it back?"),
    (ActionCancelOrder, "what if I change my mind, can I still cancel?"),
])
def test_a_policy_question_read_as_an_order_change_is_answered_from_the_faq(
        faq_shop: Shop, action: type, question: str) -> None:
    # given a conversation that discussed an order (which the question does not name)
    t = tracker(user(question, action.intent), slots={"order_number": "AT-ZZZZZZ"})
    # when
    messages, events = run(action(faq_shop.aftersale(), faq_shop.knowledge()), t)
    # then the FAQ answers, exactly as it answers the question asked as one
    assert (messages, events) == run(ActionAnswerFaq(faq_shop.knowledge()), t)
    assert messages and "AT-ZZZZZZ" not in str(messages)


@pytest.mark.parametrize(("confidence", "answered"), [(0.9, True), (0.3, False)])
def test_the_nlus_confidence_in_a_faq_question_is_passed_to_the_faq(
        faq_shop: Shop, confidence: float, answered: bool) -> None:
    # a paraphrase the FAQ answers alone only when the NLU read it as a FAQ question
    t = tracker(user("my bank keeps blocking the payment", "faq", confidence=confidence))
    [message], _ = run(ActionAnswerFaq(faq_shop.knowledge()), t)
    assert message["text"].startswith("Sorry about that! Nothing has been charged.") is answered
    assert message["text"].startswith(NOT_SURE) is not answered


@pytest.mark.parametrize(("intent", "text", "reached"), [
    ("faq", "do you ship to japan", True),
    ("faq", '/faq{"ordinal": "1"}', True),
    ("out_of_scope", "how often should my bike be serviced", True),
    ("out_of_scope", "/out_of_scope", False),
    ("nlu_fallback", "what about tarnish?", True),
    ("nlu_fallback", "my candle is tunneling", True),
    ("nlu_fallback", "/affirm", False),
    ("customize_product", "can i pick my own glaze?", True),
    ("customize_product", "personalise it", False),
    ("product_details", "is it all made by hand?", True),
    ("product_details", "tell me more about the blue mug", False),
    ("request_refund", "if my sister doesn't like it can she send it back?", True),
    ("request_refund", "i want a refund for my order", False),
    ("order_status", "where is my parcel?", False),
    ("search_product", "do you have blue mugs?", False),
])
def test_which_readings_of_a_message_put_it_to_the_faq(intent: str, text: str,
                                                       reached: bool) -> None:
    assert reaches_faq(intent, text) is reached
