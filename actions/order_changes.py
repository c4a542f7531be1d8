"""After sale: cancel before shipping, return for a refund, a new delivery address.

Nothing changes without the shopper's yes: the asking action stores what it proposed in
``pending_change`` ("cancel:AT-…" or "return:AT-…"), and ``action_confirm_order_change``
carries it out on an affirm that answers that very question.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.aftersale import AfterSaleClient, Order, OrderNotFound
from actions.clients.commerce import CommerceError, CommerceUnavailable
from actions.clients.knowledge import KnowledgeClient
from actions.common import in_turn
from actions.faq import ActionAnswerFaq, looks_like_question
from actions.handoff import hand_off, offered_reason, previous_action
from actions.orders import (
    NO_ORDERS,
    NOT_SHIPPED,
    SHIPPED,
    UNAVAILABLE,
    choose_order,
    items_of,
    late_payment,
    mentioned_number,
)
from actions.shopper import UnverifiedShopper, shopper_of

log = logging.getLogger(__name__)
_ORDER_WORD = re.compile(r"\b(?:orders?|my (?:parcel|package|purchase|delivery))\b", re.I)
_HYPOTHETICAL = re.compile(
    r"^\s*(?:and |but |so )?(?:if|what if|in case|suppose|say|when)\b|\b(?:can|could|may|will|"
    r"would|is|are) (?:she|he|they|someone|somebody|the recipient|the person|people|my "
    r"(?:sister|brother|mum|mom|mother|dad|father|friend|wife|husband|partner|son|"
    r"daughter|girlfriend|boyfriend|aunt|uncle|grandma|grandmother|grandpa|colleague))\b",
    re.I)

YES_NO = [{"title": "Yes, please", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
# the confirming action asks again ("try again?") when the shop could not be reached
ASKING_ACTIONS = frozenset({"action_cancel_order", "action_request_refund",
                            "action_confirm_order_change"})
PERSONALISED_NOTE = ("Personalised pieces can only be returned if they arrived damaged, "
                     "faulty or not as ordered.")
RETURN_NEXT = ("The team will confirm it by email and send you the studio's address in Lyon. "
               "Once the parcel is back with us, you're refunded within 5 working days.")


def policy_question(tracker: Tracker) -> bool:
    """A question about the shop's policy rather than an order: hypothetical or about
    someone else, with no order named ("if my sister doesn't like it can she send it
    back?"). Such a question is not about the order the conversation discussed before."""
    text = str(tracker.latest_message.get("text") or "")
    return (not text.startswith("/") and looks_like_question(text)
            and bool(_HYPOTHETICAL.search(text)) and mentioned_number(tracker) is None
            and not _ORDER_WORD.search(text))


class OrderAction(Action, ABC):
    """Finds the order the shopper means: named now, discussed before, or one to choose.
    A policy question read as this action's intent is answered from the FAQ instead."""

    intent = ""

    def __init__(self, client: AfterSaleClient | None = None,
                 knowledge: KnowledgeClient | None = None) -> None:
        self.client = client or AfterSaleClient()
        self.faq = ActionAnswerFaq(knowledge)

    async def find(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Order | None:
        """The order, or None after telling the shopper why (raises CommerceUnavailable)."""
        shopper = shopper_of(tracker)
        number = mentioned_number(tracker) or tracker.get_slot("order_number")
        if number is None:
            orders = await self.client.orders(shopper)
            if not orders:
                dispatcher.utter_message(text=NO_ORDERS)
                return None
            if len(orders) > 1:
                choose_order(dispatcher, orders, self.intent)
                return None
            return orders[0]
        try:
            return await self.client.order(shopper, number)
        except OrderNotFound as exc:
            dispatcher.utter_message(text=f"{exc.message} Please check the number — it is in "
                                          "your order confirmation email.")
            return None

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if policy_question(tracker):
            return await self.faq.run(dispatcher, tracker, domain)
        try:
            order = await self.find(dispatcher, tracker)
            if order is None:
                return []
            return [SlotSet("order_number", order.number),
                    *await self.act(dispatcher, tracker, order)]
        except CommerceUnavailable:
            log.warning("%s failed: commerce API unavailable", self.name(),
                        extra={"conversation_id": tracker.sender_id})
            dispatcher.utter_message(text=UNAVAILABLE)
            return []
        except UnverifiedShopper as exc:
            dispatcher.utter_message(text=exc.message)
            return []
        except CommerceError as exc:
            dispatcher.utter_message(text=f"Sorry, that didn't work: {exc.message}")
            return []

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]: ...


def closed(order: Order) -> str | None:
    """Why nothing more can be done with ``order``, if so."""
    if order.payment_status == "refund_pending":
        return f"A refund of order {order.number} is already on its way to your card."
    if (late := late_payment(order)) is not None:
        return f"Order {order.number} was cancelled. {late}"
    if order.status in {"cancelled", "refunded"}:
        return f"Order {order.number} was already {order.status}."
    return None


def ask(dispatcher: CollectingDispatcher, text: str, change: str, order: Order
        ) -> list[EventType]:
    dispatcher.utter_message(text=text, buttons=YES_NO)
    return [SlotSet("pending_change", f"{change}:{order.number}")]


def offer_return(dispatcher: CollectingDispatcher, order: Order, intro: str) -> list[EventType]:
    if any(e.type == "return_requested" for e in order.events):
        dispatcher.utter_message(text=f"You've already asked to return order {order.number}; "
                                      "the team will be in touch by email.")
        return []
    text = intro
    if any(line.options for line in order.lines):
        text += " " + PERSONALISED_NOTE
    return ask(dispatcher, text, "return", order)


class ActionCancelOrder(OrderAction):
    intent = "cancel_order"

    def name(self) -> str:
        return "action_cancel_order"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]:
        if (reason := closed(order)) is not None:
            dispatcher.utter_message(text=reason)
            return []
        if order.status in SHIPPED:
            return offer_return(dispatcher, order, (
                f"Order {order.number} has already been shipped, so it can't be cancelled any "
                "more. Would you like to return it for a refund instead?"))
        if order.status == "pending_payment":
            text = (f"Shall I cancel order {order.number} ({items_of(order)}, {order.total} "
                    f"{order.currency})? Nothing has been charged.")
        else:
            text = (f"Order {order.number} is paid and hasn't shipped yet, so I can cancel it "
                    f"and refund {order.total} {order.currency} to your card. Shall I cancel "
                    "it?")
        return ask(dispatcher, text, "cancel", order)


class ActionRequestRefund(OrderAction):
    intent = "request_refund"

    def name(self) -> str:
        return "action_request_refund"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]:
        if (reason := closed(order)) is not None:
            dispatcher.utter_message(text=reason)
            return []
        if order.status == "pending_payment":
            return ask(dispatcher, f"Order {order.number} hasn't been paid, so there's nothing "
                                   "to refund. Would you like me to cancel it instead?",
                       "cancel", order)
        if order.status in NOT_SHIPPED:
            return ask(dispatcher, f"Order {order.number} hasn't shipped yet, so I can cancel "
                                   f"it and refund the full {order.total} {order.currency} to "
                                   "your card. Shall I go ahead?", "cancel", order)
        return offer_return(dispatcher, order, (
            f"I can ask the team for a return of order {order.number} ({items_of(order)}, "
            f"{order.total} {order.currency}). {RETURN_NEXT} Shall I request the return?"))


class ActionChangeShippingAddress(OrderAction):
    """Only the team may change an address (until the parcel ships): hand off to them."""

    intent = "change_shipping_address"

    def name(self) -> str:
        return "action_change_shipping_address"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]:
        if order.status in SHIPPED:
            dispatcher.utter_message(text=f"Order {order.number} is already with the carrier, "
                                          "so its address can't be changed any more, sorry.")
            return []
        if order.status not in NOT_SHIPPED:
            dispatcher.utter_message(text=f"Order {order.number} was {order.status}, so there "
                                          "is nothing to deliver.")
            return []
        text = ("Only the team can change the delivery address, and they can do it until the "
                "parcel ships. I'm connecting you with a member of the team now — please tell "
                f"them the new address for order {order.number}.")
        return await hand_off(dispatcher, tracker, reason="shopper_request",
                              client=self.client, text=text)


class ActionConfirmOrderChange(Action):
    """Yes or no: to a proposed change of an order, to the offer of a person, or free."""

    def __init__(self, client: AfterSaleClient | None = None) -> None:
        self.client = client or AfterSaleClient()

    def name(self) -> str:
        return "action_confirm_order_change"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        yes = tracker.latest_message.get("intent", {}).get("name") == "affirm"
        pending = tracker.get_slot("pending_change")
        if pending and previous_action(tracker) in ASKING_ACTIONS:
            change, _, number = str(pending).partition(":")
            if not yes:
                dispatcher.utter_message(text=f"All right, I've left order {number} as it is.")
                return [SlotSet("pending_change", None)]
            return await self.change(dispatcher, tracker, change, number)
        reason = offered_reason(tracker)
        if reason is not None and yes:
            return await hand_off(dispatcher, tracker, reason=reason, client=self.client)
        dispatcher.utter_message(response="utter_anything_else" if yes else "utter_no_problem")
        cleared = [SlotSet(name, None) for name in ("pending_change", "handoff_offer")
                   if tracker.get_slot(name)]
        return cleared

    async def change(self, dispatcher: CollectingDispatcher, tracker: Tracker, change: str,
                     number: str) -> list[EventType]:
        try:
            shopper = shopper_of(tracker)
            if change == "return":
                order = await self.client.request_return(shopper, number,
                                                         reason="asked for in the chat")
                text = f"I've recorded your return request for order {number}. {RETURN_NEXT}"
            else:
                order = await self.client.cancel(shopper, number)
                text = cancelled_text(order)
        except CommerceUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE,
                                     buttons=[{"title": "Try again", "payload": "/affirm"}])
            return []  # the question stays open: a later "yes" can still do it
        except UnverifiedShopper as exc:
            dispatcher.utter_message(text=exc.message)
            return []
        except CommerceError as exc:
            dispatcher.utter_message(text=f"Sorry, I couldn't do that: {exc.message}")
            return [SlotSet("pending_change", None)]
        dispatcher.utter_message(text=text)
        return [SlotSet("pending_change", None)]


def cancelled_text(order: Order) -> str:
    if order.status == "refunded":
        return (f"Done — order {order.number} is cancelled and {order.total} {order.currency} "
                "has been refunded to your card. Banks usually show it within 5–10 working "
                "days.")
    if order.payment_status == "refund_pending":
        return (f"Done — order {order.number} is cancelled; the refund of {order.total} "
                f"{order.currency} is on its way to your card.")
    if (late := late_payment(order)) is not None:
        return f"Done — order {order.number} is cancelled. {late}"
    return f"Done — order {order.number} is cancelled. Nothing was charged."
