"""Messages the model is not sure about: a question for the FAQ, a request to see pieces
for the catalog's search, else one clarifying question, then the offer of a person.
``fallback_count`` counts failures in a row; the domain resets it to 0 on every
understood message."""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.aftersale import AfterSaleClient
from actions.clients.commerce import CommerceClient
from actions.clients.knowledge import KnowledgeClient
from actions.common import in_turn
from actions.discovery import search_words
from actions.faq_routing import PERSON_BUTTON, covered_by_faq, looks_like_question
from actions.handoff import hand_off, is_frustrated, reports_damage
from actions.language import other_language, say_english_only
from actions.orders import (
    ASKS_FOR_NUMBER,
    NUMBER_LIKE_RE,
    help_without_number,
    last_response,
    mentioned_email,
    without_number,
)
from actions.out_of_scope import outside_the_shop

INTENT_LABELS = {
    "search_product": "Find a product",
    "refine_search": "Change my search",
    "product_details": "Tell me about a product",
    "customize_product": "Personalise a piece",
    "add_to_cart": "Add it to my cart",
    "remove_from_cart": "Remove something from my cart",
    "change_quantity": "Change a quantity",
    "view_cart": "Show my cart",
    "checkout": "Check out",
    "order_status": "Where is my order?",
    "cancel_order": "Cancel an order",
    "request_refund": "Return an order",
    "change_shipping_address": "Change my delivery address",
    "faq": "A question about the shop",
}
DEFAULT_OPTIONS = ("search_product", "order_status", "faq")
MAX_OPTIONS = 3
_ASKS_TO_SEE = re.compile(
    r"^\s*(?:(?:hi|hey|hello)\W+)?(?:(?:can|could) you\s+)?(?:please\s+)?"
    r"(?:show me|find me|do you (?:have|sell|make|stock|do)|have you got|got any|any|"
    r"(?:i'?m|i am) (?:looking|searching|after)(?: for)?|looking for|"
    r"i (?:want|need|would like)|i'?d like)\s+(?P<what>\S.*)", re.I)
_NOT_A_PIECE = re.compile(
    r"^(?:to|how|what|when|where|why|if|idea|news|update|chance|way)\b|\b(?:orders?|refunds?|"
    r"money|help|person|human|someone|somebody|agent|deliver(?:y|ed)|parcel|package|"
    r"account|payments?|pay|talk|speak|return|cancel\w*|email|address|discount|code)\b",
    re.I)


def asks_to_see(text: str) -> str | None:
    """What a message asks to see when it is phrased as a request for pieces ("show me
    homeware", "do you sell terrariums"), else None: not about an order, a person or
    help, nor a request to do something ("i want to…")."""
    match = _ASKS_TO_SEE.match(text)
    what = match.group("what").strip(" ?!.") if match else ""
    return what if what and not _NOT_A_PIECE.search(what) else None


def options(tracker: Tracker) -> list[dict[str, str]]:
    """Buttons for the most likely intents of the latest message, with its entities."""
    ranking = tracker.latest_message.get("intent_ranking") or []
    names = [r.get("name") for r in ranking if r.get("name") in INTENT_LABELS]
    for name in DEFAULT_OPTIONS:
        if len(names) >= 2:
            break
        if name not in names:
            names.append(name)
    entities: dict[str, str] = {}
    for entity in tracker.latest_message.get("entities") or []:
        if isinstance(entity.get("value"), str):
            entities.setdefault(str(entity["entity"]), entity["value"])
    arguments = json.dumps(entities) if entities else ""
    return [{"title": INTENT_LABELS[name], "payload": f"/{name}{arguments}"}
            for name in names[:MAX_OPTIONS]]


class ActionFallback(Action):
    def __init__(self, knowledge: KnowledgeClient | None = None,
                 orders: AfterSaleClient | None = None,
                 commerce: CommerceClient | None = None) -> None:
        self.knowledge = knowledge or KnowledgeClient()
        self.orders = orders or AfterSaleClient()
        self.commerce = commerce or CommerceClient()

    def name(self) -> str:
        return "action_fallback"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        if (language := other_language(text)) is not None:
            return say_english_only(dispatcher, language)
        if is_frustrated(text):
            return await hand_off(dispatcher, tracker, reason="frustrated", client=self.orders)
        if tracker.get_slot("lookup_number") and mentioned_email(tracker):
            return [FollowupAction("action_order_lookup")]
        if without_number(tracker):
            return help_without_number(dispatcher)
        if last_response(tracker) in ASKS_FOR_NUMBER and NUMBER_LIKE_RE.search(text):
            return [FollowupAction("action_order_status")]  # the number asked for, or not ours
        if not text.startswith("/"):
            # a question is asked (kept for the merchant if unanswered); anything else
            # only checked ("my candle is tunneling", "my card got rejected")
            answered = await covered_by_faq(self.knowledge, dispatcher, text,
                                            record_gap=looks_like_question(text))
            if answered is not None:
                return [*answered, SlotSet("fallback_count", 0.0)]
            if reports_damage(text) and not looks_like_question(text):
                return await hand_off(dispatcher, tracker, reason="damaged",
                                      client=self.orders, response="utter_handoff_damaged")
            # "show me homeware": what the search makes of it, not "did you want to…"
            if asks_to_see(text) is not None and (shown := await search_words(
                    self.commerce, dispatcher, text)) is not None:
                return [*shown, SlotSet("fallback_count", 0.0)]
        count = int(tracker.get_slot("fallback_count") or 0) + 1
        if count >= 2:
            dispatcher.utter_message(response="utter_offer_person", buttons=[
                PERSON_BUTTON, {"title": "Keep trying", "payload": "/deny"}])
            return [SlotSet("fallback_count", float(count)),
                    SlotSet("handoff_offer", "repeated_failure")]
        dispatcher.utter_message(response="utter_clarify", buttons=options(tracker))
        return [SlotSet("fallback_count", float(count)), SlotSet("handoff_offer", None)]


class ActionOutOfScope(Action):
    """A message read as outside the shop's scope: answered from the merchant's FAQ when it
    confidently covers it (a bike workshop's FAQ makes "how often should it be serviced?"
    the shop's business), else the shopper hears what the bot can do."""

    def __init__(self, knowledge: KnowledgeClient | None = None) -> None:
        self.knowledge = knowledge or KnowledgeClient()

    def name(self) -> str:
        return "action_out_of_scope"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "").strip()
        return await outside_the_shop(self.knowledge, dispatcher, text)
