"""Questions about the shop, answered from the merchant's FAQ — never guessed."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.cart import cart_text
from actions.clients.commerce import CommerceClient, CommerceError, CommerceUnavailable
from actions.clients.knowledge import KnowledgeClient
from actions.clients.models import Interpretation
from actions.common import in_turn
from actions.countries import country_named
from actions.discovery import search_words
from actions.faq_routing import say_answer
from actions.handoff import shopper_texts
from actions.orders import help_without_number, without_number
from actions.shopper import UnverifiedShopper, shopper_of

log = logging.getLogger(__name__)

_AVAILABILITY = re.compile(
    r"^\s*(?:(?:do|does|did) (?:you|the shop|they)(?: still)? (?:have|sell|stock|carry|make|do|"
    r"offer)|(?:can|could) you make|have you got|got any|any chance you have)\b|"
    r"\b(?:available|in stock|for sale)\b", re.I)


def faq_intent_of(tracker: Tracker) -> float | None:
    """The NLU's confidence in the ``faq`` intent when it read the latest message so."""
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") != "faq":
        return None
    try:
        return float(intent.get("confidence"))
    except (TypeError, ValueError):
        return None


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


async def products_asked(commerce: CommerceClient, question: str) -> Interpretation | None:
    """The shop's reading of ``question`` when it asks whether the shop has products ("do
    you have the Blue Willow mug?", "do you do custom name necklaces?"), read against the
    live catalog; None for any other question."""
    if not _AVAILABILITY.search(question):
        return None
    try:
        return await commerce.interpret(question)
    except CommerceError:
        return None  # the FAQ may still answer


_COST = re.compile(r"\b(?:cost|costs|price|how much|total|fee|charge|pay)\b", re.I)
_SHIPPING = re.compile(r"\b(?:ship|shipping|shipped|postage|post|delivery|deliver|send|"
                       r"sending|total)\b", re.I)


def asks_shipping_cost(question: str) -> str | None:
    """The country whose shipping cost or total the question asks ("what's the total with
    shipping to germany?", "how much is postage to the US"), if it asks one."""
    if _COST.search(question) and _SHIPPING.search(question):
        return country_named(question)
    return None


class ActionAnswerFaq(Action):
    """The merchant's answer; a question whether the shop has a product it names shows
    that product instead, and one whether it has a kind of piece that the FAQ does not
    answer shows those pieces."""

    def __init__(self, client: KnowledgeClient | None = None,
                 commerce: CommerceClient | None = None) -> None:
        self.client = client or KnowledgeClient()
        self.commerce = commerce or CommerceClient()

    def name(self) -> str:
        return "action_answer_faq"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if without_number(tracker, asked_only=True):  # "i lost the confirmation email"
            return help_without_number(dispatcher)
        question = question_of(tracker)
        if question is None:
            dispatcher.utter_message(response="utter_ask_faq_question")
            return []
        typed = not str(tracker.latest_message.get("text") or "").startswith("/")
        country = asks_shipping_cost(question) if typed else None
        if country is not None and (priced := await self._cart_to(
                dispatcher, tracker, country)) is not None:
            return priced  # the shopper's own cart, priced to that country
        asked = await products_asked(self.commerce, question) if typed else None
        if asked is not None and asked.product is not None:  # the product, not the FAQ
            shown = await search_words(self.commerce, dispatcher, question)
            if shown is not None:
                return shown
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
        if result.answer is None and asked is not None and (
                asked.category or asked.attributes.get("type")):
            # the pieces of the kind asked
            shown = await search_words(self.commerce, dispatcher, question)
            if shown is not None:
                return shown
        return say_answer(dispatcher, result)

    async def _cart_to(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                       country: str) -> list[EventType] | None:
        """The shopper's cart with its shipping to ``country``; None (nothing said) when
        the cart is empty or cannot be read, for the FAQ's general answer."""
        try:
            cart = await self.commerce.cart(shopper_of(tracker).path, country=country)
        except (CommerceError, UnverifiedShopper):
            return None
        if not cart.lines:
            return None
        dispatcher.utter_message(response="utter_cart", cart=cart_text(cart),
                                 buttons=[{"title": "Check out", "payload": "/checkout"}])
        return []
