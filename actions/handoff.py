"""Handing the conversation to a person, and taking it back."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.aftersale import AfterSaleClient
from actions.clients.commerce import CommerceError
from actions.common import in_turn, previous_turn
from actions.shopper import shopper_of

log = logging.getLogger(__name__)

REASONS = ("shopper_request", "repeated_failure", "frustrated", "faq_unanswered", "damaged")
TOPICS = {
    "search_product": "looking for a product", "refine_search": "refining a search",
    "product_details": "looking at a product", "customize_product": "personalising a piece",
    "add_to_cart": "filling the cart", "remove_from_cart": "changing the cart",
    "change_quantity": "changing the cart", "view_cart": "looking at the cart",
    "checkout": "checking out", "order_status": "asking about an order",
    "cancel_order": "cancelling an order", "request_refund": "asking for a refund or return",
    "change_shipping_address": "changing a delivery address", "faq": "asking a question",
}
TRIVIAL_INTENTS = frozenset({"affirm", "deny", "request_human", "handback", "thank"})
SKIPPED_ACTIONS = frozenset({"action_listen", "action_extract_slots", "action_session_start"})
_ANGRY = re.compile(
    r"\b(useless|stupid|ridiculous|rubbish|terrible|awful|pathetic|idiot\w*|furious|angry|"
    r"annoy\w*|fed up|sick of|waste of time|wtf|scam|worst|unacceptable|disgrace\w*|"
    r"frustrat\w*|hopeless)\b", re.IGNORECASE)


_DAMAGED = re.compile(
    r"\b(?:broken|broke|damaged|cracked|chipped|smashed|shattered|dented|scratched|torn|"
    r"ripped|snapped|bent|leak(?:s|ed|ing)|faulty|defective|in pieces|stopped working|"
    r"(?:came|comes|coming|fell|falls|falling) (?:off|apart))\b", re.IGNORECASE)


def reports_damage(text: str) -> bool:
    """Whether the shopper says a piece came damaged or is faulty ("it arrived broken",
    "my necklace snapped after two days")."""
    return bool(_DAMAGED.search(text))


def is_frustrated(text: str) -> bool:
    """Angry words, or shouting (several exclamation marks, or a long all-caps message)."""
    letters = [ch for ch in text if ch.isalpha()]
    shouting = len(letters) >= 12 and all(ch.isupper() for ch in letters)
    return bool(_ANGRY.search(text)) or "!!" in text or shouting


def previous_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the shopper's latest message."""
    return next((e.get("name") for e in previous_turn(tracker)
                 if e.get("event") == "action" and e.get("name") not in SKIPPED_ACTIONS), None)


def shopper_texts(tracker: Tracker) -> list[str]:
    """What the shopper typed (button payloads left out), newest first."""
    texts = [str(e.get("text") or "") for e in reversed(tracker.events)
             if e.get("event") == "user"]
    latest = str(tracker.latest_message.get("text") or "")
    if not texts or texts[0] != latest:
        texts.insert(0, latest)
    return [t for t in texts if t.strip() and not t.startswith("/")]


def last_said(tracker: Tracker) -> str | None:
    """The shopper's last typed message with content (not "yes", "no" or "a human")."""
    for event in reversed(tracker.events):
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if text.strip() and not text.startswith("/") and intent not in TRIVIAL_INTENTS:
            return text
    texts = shopper_texts(tracker)
    return texts[0] if texts else None


def last_topic(tracker: Tracker) -> str | None:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if intent in TOPICS:
                return TOPICS[intent]
    intent = tracker.latest_message.get("intent", {}).get("name")
    return TOPICS.get(intent)


async def summary_of(tracker: Tracker, reason: str, client: AfterSaleClient) -> str:
    """One line for the agent: why, what the shopper said last, and what they were doing."""
    why = {"shopper_request": "Asked for a person",
           "repeated_failure": "The bot did not understand twice",
           "frustrated": "Shopper seems frustrated",
           "damaged": "A piece arrived damaged or faulty",
           "faq_unanswered": "The FAQ had no confident answer"}[reason]
    parts = [why]
    said = last_said(tracker)
    if said:
        said = " ".join(said.split())
        parts.append(f'last message: "{said[:100]}{"…" if len(said) > 100 else ""}"')
    topic = last_topic(tracker)
    if topic:
        parts.append(f"was {topic}")
    order = tracker.get_slot("order_number")
    if order:
        parts.append(f"order {order}")
    try:
        cart = await client.cart_brief(shopper_of(tracker))
    except CommerceError:
        cart = None
    if cart is not None and cart[0]:
        parts.append(f"cart: {cart[0]} item{'s' if cart[0] != 1 else ''}, {cart[1]} {cart[2]}")
    return "; ".join(parts) + "."


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, *, reason: str,
                   client: AfterSaleClient, response: str = "utter_handoff",
                   **values: str) -> list[EventType]:
    """Send the message whose ``handoff`` payload moves the conversation to the team: the
    domain's ``response``, filled with ``values``."""
    summary = await summary_of(tracker, reason, client)
    log.info("handoff reason=%s", reason, extra={"conversation_id": tracker.sender_id})
    dispatcher.utter_message(response=response, **values,
                             json_message={"handoff": {"reason": reason, "summary": summary}})
    return [SlotSet("handoff_offer", None), SlotSet("fallback_count", 0.0)]


def offered_reason(tracker: Tracker) -> str | None:
    """The reason of a person the bot offered in its last turn, if it did."""
    offer = tracker.get_slot("handoff_offer")
    if offer in REASONS and previous_action(tracker) in {"action_fallback",
                                                         "action_answer_faq"}:
        return str(offer)
    return None


class ActionHandoff(Action):
    def __init__(self, client: AfterSaleClient | None = None) -> None:
        self.client = client or AfterSaleClient()

    def name(self) -> str:
        return "action_handoff"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        reason = offered_reason(tracker) or (
            "frustrated" if is_frustrated(text) else "shopper_request")
        return await hand_off(dispatcher, tracker, reason=reason, client=self.client)


class ActionHandback(Action):
    def name(self) -> str:
        return "action_handback"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_handback")
        form = (tracker.active_loop or {}).get("name")
        # rules say the same (the form asks its question again; else utter_anything_else)
        return [FollowupAction(form)] if form else []
