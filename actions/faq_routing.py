"""Which messages the bot puts to the merchant's FAQ, and how its answer is said.

The NLU's ``faq`` intent goes to ``action_answer_faq`` (``actions.faq``). Other readings
reach the FAQ too (``reaches_faq``): a question the NLU was not sure of
(``action_fallback``), and, only as a check, any other message it was not sure of, a
message it put outside the shop's scope (``action_out_of_scope``), a policy question read
as an order's intent (``actions.order_changes``), and a question about personalising or
about the details of no product in particular (``FaqCheckingAction``). A check answers
when the FAQ is confident, without keeping the message among the merchant's unanswered
questions.
"""

from __future__ import annotations

import re
from abc import ABC

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.commerce import CommerceClient, CommerceError
from actions.clients.knowledge import FaqAnswer, KnowledgeClient
from actions.common import CommerceAction

PERSON_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}
QUESTION_START = re.compile(
    r"^\s*(how|hows|what|whats|when|where|wheres|why|who|whos|which|can|could|do|does|did|"
    r"is|are|will|would|should|may|have|has)\b", re.IGNORECASE)
_ORDER_WORD = re.compile(r"\b(?:orders?|my (?:parcel|package|purchase|delivery))\b", re.I)
_HYPOTHETICAL = re.compile(
    r"^\s*(?:and |but |so )?(?:if|what if|in case|suppose|say|when)\b|\b(?:can|could|may|will|"
    r"would|is|are) (?:she|he|they|someone|somebody|the recipient|the person|people|my "
    r"(?:sister|brother|mum|mom|mother|dad|father|friend|wife|husband|partner|son|"
    r"daughter|girlfriend|boyfriend|aunt|uncle|grandma|grandmother|grandpa|colleague))\b",
    re.I)


def looks_like_question(text: str) -> bool:
    return text.strip().endswith("?") or bool(QUESTION_START.match(text))


FAQ_CHECKING_INTENTS = ("customize_product", "product_details")
"""The intents of the ``FaqCheckingAction``s."""
ORDER_INTENTS = frozenset({"cancel_order", "request_refund", "change_shipping_address"})
"""The intents whose actions (``actions.order_changes.OrderAction``) answer a policy question
from the FAQ instead."""


def is_policy_question(text: str) -> bool:
    """Whether ``text`` asks about the shop's policy rather than an order: hypothetical
    or about someone else ("if my sister doesn't like it can she send it back?")."""
    return (not text.startswith("/") and looks_like_question(text)
            and bool(_HYPOTHETICAL.search(text)) and not _ORDER_WORD.search(text))


def reaches_faq(intent: str, text: str) -> bool:
    """Whether a message the NLU read as ``intent`` is put to the FAQ, asked cold (no
    product or order in the conversation yet, none named): read as a question for the
    shop; anything it was not sure of (a question is asked, any other message only checked:
    "my candle is tunneling"); anything it put outside the shop's scope, which the
    merchant's FAQ may cover all the same (a workshop's "how often should my bike be
    serviced?"); a question about personalising or about the details of no product in
    particular (``FaqCheckingAction``); a policy question read as an order's intent
    (``is_policy_question``). ``scripts/eval_faq_bot.py`` scores the FAQ through this."""
    if text.startswith("/"):
        return intent == "faq"
    if intent in ("faq", "out_of_scope", "nlu_fallback"):
        return True
    if intent in FAQ_CHECKING_INTENTS:
        return looks_like_question(text)
    return intent in ORDER_INTENTS and is_policy_question(text)


async def covered_by_faq(client: KnowledgeClient, dispatcher: CollectingDispatcher,
                         text: str, *, record_gap: bool = False) -> list[EventType] | None:
    """The FAQ's answer when it confidently covers ``text``; None (nothing said) when it
    does not or cannot be asked. Only a question the bot puts to the FAQ as such is kept
    among the merchant's unanswered ones (``record_gap``), not a message merely checked."""
    try:
        result = await client.answer(text, record_gap=record_gap)
    except CommerceError:
        return None
    return say_answer(dispatcher, result) if result.answer is not None else None


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


class FaqCheckingAction(CommerceAction, ABC):
    """An action about a product that answers from the FAQ a question naming none
    ("can i pick my own glaze?", "is it made in france?") when the FAQ covers it."""

    def __init__(self, client: CommerceClient | None = None,
                 knowledge: KnowledgeClient | None = None) -> None:
        super().__init__(client)
        self.knowledge = knowledge or KnowledgeClient()

    async def answered_by_faq(self, dispatcher: CollectingDispatcher,
                              tracker: Tracker) -> list[EventType] | None:
        """The FAQ's answer when the latest message is a question it covers, else None."""
        text = str(tracker.latest_message.get("text") or "")
        if text.startswith("/") or not looks_like_question(text):
            return None
        return await covered_by_faq(self.knowledge, dispatcher, text)
