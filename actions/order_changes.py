"""After sale: cancel before shipping, return for a refund, a new delivery address.

Nothing changes without the shopper's yes: the asking action stores what it proposed in
``pending_change`` ("cancel:AT-…" or "return:AT-…"), and ``action_confirm_order_change``
carries it out on an affirm that answers that very question.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.aftersale import AfterSaleClient, Order, OrderNotFound
from actions.clients.commerce import CommerceError, CommerceUnavailable
from actions.clients.knowledge import KnowledgeClient
from actions.common import in_turn
from actions.faq import ActionAnswerFaq
from actions.faq_routing import is_policy_question
from actions.handoff import hand_off, offered_reason, previous_action, reports_damage
from actions.orders import (
    NOT_SHIPPED,
    SHIPPED,
    choose_order,
    help_without_number,
    items_of,
    late_payment,
    mentioned_number,
    without_number,
)
from actions.shopper import UnverifiedShopper, shopper_of

log = logging.getLogger(__name__)
YES_NO = [{"title": "Yes, please", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
# the confirming action asks again ("try again?") when the shop could not be reached
ASKING_ACTIONS = frozenset({"action_cancel_order", "action_request_refund",
                            "action_confirm_order_change"})


def policy_question(tracker: Tracker) -> bool:
    """A policy question (``is_policy_question``) with no order named. Such a question is
    not about the order the conversation discussed before."""
    text = str(tracker.latest_message.get("text") or "")
    return is_policy_question(text) and mentioned_number(tracker) is None


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
            if not orders and without_number(tracker):
                help_without_number(dispatcher)
                return None
            if not orders:
                dispatcher.utter_message(response="utter_no_orders")
                return None
            if len(orders) > 1:
                choose_order(dispatcher, orders, self.intent)
                return None
            return orders[0]
        try:
            return await self.client.order(shopper, number)
        except OrderNotFound as exc:
            dispatcher.utter_message(response="utter_order_number_not_found",
                                     message=exc.message)
            return None

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if policy_question(tracker):
            return await self.faq.run(dispatcher, tracker, domain)
        if self.intent == "request_refund" and reports_damage(
                str(tracker.latest_message.get("text") or "")):
            # "it arrived broken": the team sorts a damaged piece out, whatever the order
            return await hand_off(dispatcher, tracker, reason="damaged", client=self.client,
                                  response="utter_handoff_damaged")
        try:
            order = await self.find(dispatcher, tracker)
            if order is None:
                return []
            return [SlotSet("order_number", order.number),
                    *await self.act(dispatcher, tracker, order)]
        except CommerceUnavailable:
            log.warning("%s failed: commerce API unavailable", self.name(),
                        extra={"conversation_id": tracker.sender_id})
            dispatcher.utter_message(response="utter_orders_unavailable")
            return []
        except UnverifiedShopper:
            dispatcher.utter_message(response="utter_shopper_unverified")
            return []
        except CommerceError as exc:
            dispatcher.utter_message(response="utter_did_not_work", message=exc.message)
            return []

    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]: ...


def said_closed(dispatcher: CollectingDispatcher, order: Order) -> bool:
    """Says why nothing more can be done with ``order``, if so."""
    if order.payment_status == "refund_pending":
        dispatcher.utter_message(response="utter_refund_on_its_way", number=order.number)
    elif late_payment(order) is not None:
        dispatcher.utter_message(response="utter_order_cancelled_late_payment",
                                 number=order.number, total=str(order.total),
                                 currency=order.currency)
    elif order.status == "cancelled" and order.payment_status == "unpaid":
        dispatcher.utter_message(response="utter_order_cancelled_unpaid", number=order.number)
    elif order.status in {"cancelled", "refunded"}:
        dispatcher.utter_message(response="utter_order_already_closed", number=order.number,
                                 status=order.status)
    else:
        return False
    return True


def ask(dispatcher: CollectingDispatcher, response: str, change: str, order: Order
        ) -> list[EventType]:
    """Ask ``response`` (which may name the order, its items and total) with yes/no."""
    dispatcher.utter_message(response=response, number=order.number, items=items_of(order),
                             total=str(order.total), currency=order.currency, buttons=YES_NO)
    return [SlotSet("pending_change", f"{change}:{order.number}")]


def offer_return(dispatcher: CollectingDispatcher, order: Order, response: str
                 ) -> list[EventType]:
    """Offer a return (``response``, whose ``_personalised`` variant adds that personalised
    pieces come back only when faulty), unless one was asked for already."""
    if any(e.type == "return_requested" for e in order.events):
        dispatcher.utter_message(response="utter_return_already_requested",
                                 number=order.number)
        return []
    if any(line.options for line in order.lines):
        response += "_personalised"
    return ask(dispatcher, response, "return", order)


class ActionCancelOrder(OrderAction):
    intent = "cancel_order"

    def name(self) -> str:
        return "action_cancel_order"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]:
        if said_closed(dispatcher, order):
            return []
        if order.status in SHIPPED:
            return offer_return(dispatcher, order, "utter_offer_return_instead")
        return ask(dispatcher, "utter_confirm_cancel_unpaid" if order.status == "pending_payment"
                   else "utter_confirm_cancel_paid", "cancel", order)


class ActionRequestRefund(OrderAction):
    intent = "request_refund"

    def name(self) -> str:
        return "action_request_refund"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]:
        if said_closed(dispatcher, order):
            return []
        if order.status == "pending_payment":
            return ask(dispatcher, "utter_nothing_to_refund", "cancel", order)
        if order.status in NOT_SHIPPED:
            return ask(dispatcher, "utter_refund_by_cancelling", "cancel", order)
        return offer_return(dispatcher, order, "utter_offer_return")


class ActionChangeShippingAddress(OrderAction):
    """Only the team may change an address (until the parcel ships): hand off to them."""

    intent = "change_shipping_address"

    def name(self) -> str:
        return "action_change_shipping_address"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  order: Order) -> list[EventType]:
        if order.status in SHIPPED:
            dispatcher.utter_message(response="utter_address_too_late", number=order.number)
            return []
        if order.status not in NOT_SHIPPED:
            dispatcher.utter_message(response="utter_nothing_to_deliver", number=order.number,
                                     status=order.status)
            return []
        return await hand_off(dispatcher, tracker, reason="shopper_request",
                              client=self.client, response="utter_handoff_change_address",
                              number=order.number)


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
                dispatcher.utter_message(response="utter_order_left_as_is", number=number)
                return [SlotSet("pending_change", None)]
            return await self.change(dispatcher, tracker, change, number)
        if not yes and without_number(tracker, asked_only=True):  # "no" to "which order?"
            return help_without_number(dispatcher)
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
                response = "utter_return_recorded"
            else:
                order = await self.client.cancel(shopper, number)
                response = cancelled(order)
        except CommerceUnavailable:
            dispatcher.utter_message(response="utter_orders_unavailable",
                                     buttons=[{"title": "Try again", "payload": "/affirm"}])
            return []  # the question stays open: a later "yes" can still do it
        except UnverifiedShopper:
            dispatcher.utter_message(response="utter_shopper_unverified")
            return []
        except CommerceError as exc:
            dispatcher.utter_message(response="utter_could_not_do_that", message=exc.message)
            return [SlotSet("pending_change", None)]
        dispatcher.utter_message(response=response, number=number, total=str(order.total),
                                 currency=order.currency)
        return [SlotSet("pending_change", None)]


def cancelled(order: Order) -> str:
    """The response that says ``order`` is cancelled, and what happens to the money."""
    if order.status == "refunded":
        return "utter_cancelled_refunded"
    if order.payment_status == "refund_pending":
        return "utter_cancelled_refund_pending"
    if late_payment(order) is not None:
        return "utter_cancelled_late_payment"
    return "utter_cancelled"
