"""The FAQ action against the real app: the merchant's FAQ files, the real embedding model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from actions.clients.knowledge import KnowledgeClient
from actions.faq import NOT_SURE, UNAVAILABLE, ActionAnswerFaq, looks_like_question
from actions.order_changes import ActionCancelOrder, ActionRequestRefund
from tests.actions.service_helpers import (
    Shop,
    bot_turn,
    down_settings,
    entity,
    run,
    start_shop,
    tracker,
    user,
)
from tests.conftest import demo_faq_answer

PERSON = {"title": "Talk to a person", "payload": "/request_human"}


@pytest.fixture(scope="module")
def shipping_answer() -> str:
    return demo_faq_answer("shipping.md", "How long does delivery take?")


@pytest.fixture(scope="module")
def shop(sqlite_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """One app for the module: loading the FAQ's embedding model is the slow part, and
    these tests change no data."""
    yield from start_shop(sessionmaker(sqlite_engine, expire_on_commit=False),
                          tmp_path_factory.mktemp("faq-shop"))


def test_a_faq_question_gets_the_merchants_answer_as_written(shop: Shop,
                                                             shipping_answer: str) -> None:
    # given
    t = tracker(user("how long does delivery take?", "faq"))
    # when
    messages, events = run(ActionAnswerFaq(shop.knowledge()), t)
    # then
    assert [m["text"] for m in messages] == [shipping_answer.strip()]
    assert events == [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None)]


def test_no_confident_answer_says_so_offers_candidates_and_a_person(shop: Shop) -> None:
    t = tracker(user("do you sell tickets to the opera in vienna?", "faq"))
    messages, events = run(ActionAnswerFaq(shop.knowledge()), t)
    [message] = messages
    assert message["text"].startswith(NOT_SURE)
    assert message["text"].endswith("Or I can put you in touch with a person.")
    *candidates, person = message["buttons"]
    assert person == PERSON and 1 <= len(candidates) <= 3
    assert [b["payload"] for b in candidates] == [
        f'/faq{{"ordinal": "{i}"}}' for i in range(1, len(candidates) + 1)]
    assert events == [SlotSet("faq_candidates", [b["title"] for b in candidates]),
                      SlotSet("handoff_offer", "faq_unanswered")]


def test_a_candidate_button_answers_that_question(shop: Shop, shipping_answer: str) -> None:
    t = tracker(user("when does it come", "faq"), *bot_turn("action_answer_faq"),
                user('/faq{"ordinal": "2"}', "faq", [entity("ordinal", "2")]),
                slots={"faq_candidates": ["Do you gift wrap?", "How long does delivery take?"]})
    messages, _ = run(ActionAnswerFaq(shop.knowledge()), t)
    assert [m["text"] for m in messages] == [shipping_answer.strip()]


def test_a_faq_button_after_a_clarifying_question_asks_what_was_typed(
        shop: Shop, shipping_answer: str) -> None:
    t = tracker(user("how long does delivery take", "nlu_fallback"),
                *bot_turn("action_fallback"), user("/faq", "faq"))
    messages, _ = run(ActionAnswerFaq(shop.knowledge()), t)
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
        shop: Shop, action: type, question: str) -> None:
    # given a conversation that discussed an order (which the question does not name)
    t = tracker(user(question, action.intent), slots={"order_number": "AT-ZZZZZZ"})
    # when
    messages, events = run(action(shop.aftersale(), shop.knowledge()), t)
    # then the FAQ answers, exactly as it answers the question asked as one
    assert (messages, events) == run(ActionAnswerFaq(shop.knowledge()), t)
    assert messages and "AT-ZZZZZZ" not in str(messages)
