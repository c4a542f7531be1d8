"""Questions about the shop, answered from the merchant's FAQ — never guessed."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.commerce import CommerceClient, CommerceError, CommerceUnavailable
from actions.clients.knowledge import FaqAnswer, KnowledgeClient
from actions.clients.models import SearchQuery
from actions.common import in_turn
from actions.config import get_settings
from actions.discovery import show_search
from actions.handoff import shopper_texts

log = logging.getLogger(__name__)

PERSON_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}
QUESTION_START = re.compile(
    r"^\s*(how|what|when|where|why|who|which|can|could|do|does|did|is|are|will|would|should|"
    r"may|have|has)\b", re.IGNORECASE)


_AVAILABILITY = re.compile(
    r"^\s*(?:(?:do|does|did) (?:you|the shop|they)(?: still)? (?:have|sell|stock|carry|make)|"
    r"have you got|got any|any chance you have)\b|\b(?:available|in stock|for sale)\b", re.I)

_ORDER_WORD = re.compile(r"\b(?:orders?|my (?:parcel|package|purchase|delivery))\b", re.I)
_HYPOTHETICAL = re.compile(
    r"^\s*(?:and |but |so )?(?:if|what if|in case|suppose|say|when)\b|\b(?:can|could|may|will|"
    r"would|is|are) (?:she|he|they|someone|somebody|the recipient|the person|people|my "
    r"(?:sister|brother|mum|mom|mother|dad|father|friend|wife|husband|partner|son|"
    r"daughter|girlfriend|boyfriend|aunt|uncle|grandma|grandmother|grandpa|colleague))\b",
    re.I)


def looks_like_question(text: str) -> bool:
    return text.strip().endswith("?") or bool(QUESTION_START.match(text))


ORDER_INTENTS = frozenset({"cancel_order", "request_refund", "change_shipping_address"})
"""The intents whose actions (``actions.order_changes.OrderAction``) answer a policy question
from the FAQ instead."""


def is_policy_question(text: str) -> bool:
    """Whether ``text`` asks about the shop's policy rather than an order: hypothetical
    or about someone else ("if my sister doesn't like it can she send it back?")."""
    return (not text.startswith("/") and looks_like_question(text)
            and bool(_HYPOTHETICAL.search(text)) and not _ORDER_WORD.search(text))


def faq_intent_of(tracker: Tracker) -> float | None:
    """The NLU's confidence in the ``faq`` intent when it read the latest message so."""
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") != "faq":
        return None
    try:
        return float(intent.get("confidence"))
    except (TypeError, ValueError):
        return None


def reaches_faq(intent: str, text: str) -> bool:
    """Whether a message the NLU read as ``intent`` is put to the FAQ, asked cold (no
    product or order in the conversation yet): read as a question for the shop; a
    question it was not sure of; anything it put outside the shop's scope, which the
    merchant's FAQ may cover all the same (a workshop's "how often should my bike be
    serviced?"); a question about personalising no product in particular; a policy
    question read as an order's intent (``is_policy_question``).
    ``scripts/eval_faq_bot.py`` scores the FAQ through this."""
    if text.startswith("/"):
        return intent == "faq"
    if intent in ("faq", "out_of_scope"):
        return True
    if intent in ("nlu_fallback", "customize_product"):
        return looks_like_question(text)
    return intent in ORDER_INTENTS and is_policy_question(text)


async def covered_by_faq(client: KnowledgeClient, dispatcher: CollectingDispatcher,
                         text: str) -> list[EventType] | None:
    """The FAQ's answer when it confidently covers ``text``, a message the bot did not
    read as a question for the FAQ; None (nothing said, nothing kept for the merchant)
    when it does not or cannot be asked."""
    try:
        result = await client.answer(text, record_gap=False)
    except CommerceError:
        return None
    return say_answer(dispatcher, result) if result.answer is not None else None


def question_of(tracker: Tracker) -> str | None:
    """What to ask the FAQ: a chosen candidate (button), else what the shopper last typed."""
    text = str(tracker.latest_message.get("text") or "")
    if text.startswith("/"):
        candidates = tracker.get_slot("faq_candidates") or []
        for value in tracker.get_latest_entity_values("ordinal"):
            if str(value).isdigit() and 1 <= int(value) <= len(candidates):
                return str(candidates[int(value) - 1])
    texts = shopper_texts(tracker)
    return texts[0] if texts else None


def say_answer(dispatcher: CollectingDispatcher, result: FaqAnswer) -> list[EventType]:
    """The merchant's answer as written, or "not sure" with the closest questions."""
    if result.answer is not None:
        dispatcher.utter_message(text=result.answer.strip())
        return [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None)]
    questions = [c.question for c in result.candidates[:3]]
    buttons = [{"title": q, "payload": f'/faq{{"ordinal": "{i}"}}'}
               for i, q in enumerate(questions, start=1)]
    dispatcher.utter_message(response="utter_faq_not_sure_which" if questions
                             else "utter_faq_not_sure", buttons=[*buttons, PERSON_BUTTON])
    return [SlotSet("faq_candidates", questions), SlotSet("handoff_offer", "faq_unanswered")]


async def named_product(commerce: CommerceClient, question: str) -> bool:
    """Whether ``question`` asks if the shop has a product it names ("do you have the Blue
    Willow mug?"), read against the live catalog."""
    if not _AVAILABILITY.search(question):
        return False
    try:
        return (await commerce.interpret(question)).product is not None
    except CommerceError:
        return False  # the FAQ may still answer


class ActionAnswerFaq(Action):
    """The merchant's answer; a question whether the shop has a product it names shows
    that product instead."""

    def __init__(self, client: KnowledgeClient | None = None,
                 commerce: CommerceClient | None = None) -> None:
        self.client = client or KnowledgeClient()
        self.commerce = commerce or CommerceClient()

    def name(self) -> str:
        return "action_answer_faq"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        question = question_of(tracker)
        if question is None:
            dispatcher.utter_message(response="utter_ask_faq_question")
            return []
        if not str(tracker.latest_message.get("text") or "").startswith("/") and \
                await named_product(self.commerce, question):
            query = SearchQuery(text=question[:300], limit=get_settings().search_page_size,
                                interpret=True)
            try:
                return await show_search(self.commerce, dispatcher, query)
            except CommerceError:
                pass  # the FAQ may still answer
        try:
            result = await self.client.answer(question, faq_intent=faq_intent_of(tracker))
        except CommerceUnavailable:
            log.warning("faq failed: knowledge API unavailable",
                        extra={"conversation_id": tracker.sender_id})
            dispatcher.utter_message(response="utter_answers_unavailable")
            return []
        except CommerceError as exc:
            dispatcher.utter_message(response="utter_faq_lookup_failed", message=exc.message)
            return []
        return say_answer(dispatcher, result)
