"""After sale: order status and parcel tracking, only for the shopper who owns the order."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients.aftersale import AfterSaleClient, NotShipped, Order, OrderNotFound, Shipment
from actions.clients.commerce import CommerceError, CommerceUnavailable
from actions.common import in_turn, previous_turn
from actions.faq_routing import PERSON_BUTTON
from actions.handoff import hand_off, is_frustrated
from actions.shopper import UnverifiedShopper, shopper_of

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"\bAT-[A-Z0-9]{6}\b", re.IGNORECASE)
NUMBER_LIKE_RE = re.compile(r"(?<![\w-])(?:AT-?(?=[A-Z]*\d)[A-Z0-9]{2,14}|#?\d{6,})(?![\w-])",
                            re.IGNORECASE)
"""What a shopper types for an order number that is not one of ours: "AT-99999", "at12345",
another shop's "#448120993817"."""
ASKS_FOR_NUMBER = frozenset({"utter_no_orders", "utter_ask_order_number_and_email",
                             "utter_not_an_order_number", "utter_order_number_not_found"})
"""The bot's responses that ask the shopper for an order number."""
NOT_HAVING_RE = re.compile(
    r"\b(?:(?:do|does|did|have|has|can|could)(?:n'?t|\s+not)|dont|didnt|havent|cant|cannot|"
    r"no|never|lost|forgot|forgotten|misplaced|deleted|where\s+(?:do|can|would)\s+i\s+find)\b",
    re.IGNORECASE)
"""How a shopper says they do not have something: "i dont have it", "lost the email"."""
ORDER_NUMBER_WORDS_RE = re.compile(r"\border\s*(?:number|no\b|#|id\b|reference|ref\b|code)",
                                   re.IGNORECASE)
EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
STATUS_TEXT = {
    "pending_payment": "is waiting for payment",
    "paid": "is paid and queued in the workshop",
    "in_production": "is being made in the workshop",
    "shipped": "has been shipped",
    "delivered": "has been delivered",
    "cancelled": "was cancelled",
    "refunded": "was refunded",
}
NOT_SHIPPED = frozenset({"pending_payment", "paid", "in_production"})
SHIPPED = frozenset({"shipped", "delivered"})


def mentioned_number(tracker: Tracker) -> str | None:
    """The order number of the latest message (entity, else written in the text)."""
    for value in tracker.get_latest_entity_values("order_number"):
        if isinstance(value, str) and NUMBER_RE.fullmatch(value.strip()):
            return value.strip().upper()
    found = NUMBER_RE.search(str(tracker.latest_message.get("text") or ""))
    return found.group(0).upper() if found else None


def wrong_number(tracker: Tracker) -> str | None:
    """What the latest message gives as an order number when it is not one of ours."""
    text = str(tracker.latest_message.get("text") or "")
    if text.startswith("/") or NUMBER_RE.search(text):
        return None
    found = NUMBER_LIKE_RE.search(text)
    return found.group(0) if found else None


def last_response(tracker: Tracker) -> str | None:
    """The response the bot ended its turn with before the shopper's latest message."""
    said = next((e for e in previous_turn(tracker) if e.get("event") == "bot"), None)
    return (said.get("metadata") or {}).get("utter_action") if said else None


def without_number(tracker: Tracker, *, asked_only: bool = False) -> bool:
    """Whether the latest message says the shopper has no order number: "i dont have it"
    or "no" just after the bot asked for it; "I don't know my order number" anywhere,
    unless ``asked_only``."""
    text = str(tracker.latest_message.get("text") or "")
    if text.startswith("/") or NUMBER_LIKE_RE.search(text) or not NOT_HAVING_RE.search(text):
        return False
    if last_response(tracker) in ASKS_FOR_NUMBER:
        return True
    return not asked_only and ORDER_NUMBER_WORDS_RE.search(text) is not None


def help_without_number(dispatcher: CollectingDispatcher) -> list[EventType]:
    """Where a shopper who has no order number finds it, and who can look it up."""
    dispatcher.utter_message(response="utter_without_order_number", buttons=[PERSON_BUTTON])
    return []


def mentioned_email(tracker: Tracker) -> str | None:
    for value in tracker.get_latest_entity_values("email"):
        if isinstance(value, str) and EMAIL_RE.fullmatch(value.strip()):
            return value.strip()
    found = EMAIL_RE.search(str(tracker.latest_message.get("text") or ""))
    return found.group(0) if found else None


def email_for_lookup(tracker: Tracker) -> str | None:
    """The email to look an order up with: in the latest message, else one the shopper gave
    before its number (``email_given``)."""
    return mentioned_email(tracker) or tracker.get_slot("lookup_email")


def email_given(dispatcher: CollectingDispatcher, tracker: Tracker, email: str
                ) -> list[EventType]:
    """An email address typed with no checkout or order lookup going ("jane@example.com"):
    the lookup waiting for it goes on; else it is kept for the order lookup the shopper is
    likely after, whose number is asked."""
    if tracker.get_slot("lookup_number"):
        return [FollowupAction("action_order_lookup")]
    dispatcher.utter_message(response="utter_email_without_order", email=email)
    return [SlotSet("lookup_email", email)]


def long_date(value: date | datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def items_of(order: Order) -> str:
    return ", ".join(f"{line.quantity} × {line.name}" for line in order.lines)


def late_payment(order: Order) -> str | None:
    """For a cancelled order whose payment came after all and went back: that, in words.
    (Such an order was charged: it must never be said that nothing was.)"""
    if order.status != "cancelled" or order.payment_status != "refunded":
        return None
    return (f"Your payment of {order.total} {order.currency} arrived after its reservation "
            "had run out; it was refunded to your card.")


def details_of(order: Order, parcel: Shipment | None) -> str:
    """The lines under an order's status, total and items: ready-by date, refund, parcel."""
    lines: list[str] = []
    if order.status in NOT_SHIPPED:
        lines.append(f"Ready by {long_date(date.fromisoformat(order.ready_by))}.")
    if order.payment_status == "refund_pending":
        lines.append("A refund is on its way to your card.")
    if (late := late_payment(order)) is not None:
        lines.append(late)
    if parcel is not None:
        lines.append(describe_parcel(parcel))
    return "".join(f"\n{line}" for line in lines)


def describe_parcel(shipment: Shipment, latest: int = 3) -> str:
    lines = [f"Carrier: {shipment.carrier}, tracking number {shipment.tracking_number}."]
    if shipment.events:
        lines.append("Latest tracking events:")
        lines.extend(f"- {e.at:%d %b %H:%M} UTC — {e.description} ({e.location})"
                     for e in reversed(shipment.events[-latest:]))
    return "\n".join(lines)


def order_buttons(order: Order) -> list[dict[str, str]]:
    number = f'{{"order_number": "{order.number}"}}'
    if order.status in NOT_SHIPPED:
        return [{"title": "Cancel this order", "payload": f"/cancel_order{number}"}]
    if order.status in SHIPPED:
        return [{"title": "Return it", "payload": f"/request_refund{number}"}]
    return []


def choose_order(dispatcher: CollectingDispatcher, orders: list[Order], intent: str) -> None:
    """Ask which of the shopper's recent orders they mean, one button each."""
    dispatcher.utter_message(
        response="utter_which_order",
        buttons=[{"title": f"{o.number} · {items_of(o)[:40]} · {o.total} {o.currency}",
                  "payload": f'/{intent}{{"order_number": "{o.number}"}}'} for o in orders])


def show_order(dispatcher: CollectingDispatcher, order: Order, parcel: Shipment | None, *,
               buttons: bool = True) -> None:
    dispatcher.utter_message(
        response="utter_order_status", number=order.number,
        status=STATUS_TEXT.get(order.status, order.status), items=items_of(order),
        total=str(order.total), currency=order.currency, details=details_of(order, parcel),
        buttons=order_buttons(order) if buttons else [])


class ActionOrderStatus(Action):
    def __init__(self, client: AfterSaleClient | None = None) -> None:
        self.client = client or AfterSaleClient()

    def name(self) -> str:
        return "action_order_status"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        number = mentioned_number(tracker)
        try:
            shopper = shopper_of(tracker)
            if number is None and (given := wrong_number(tracker)) is not None:
                dispatcher.utter_message(response="utter_not_an_order_number", given=given)
                return []
            if number is None:
                orders = await self.client.orders(shopper)
                if not orders and is_frustrated(str(tracker.latest_message.get("text") or "")):
                    return await hand_off(dispatcher, tracker, reason="frustrated",
                                          client=self.client,
                                          response="utter_handoff_order_complaint")
                if not orders and without_number(tracker):
                    return help_without_number(dispatcher)
                if not orders:
                    dispatcher.utter_message(response="utter_no_orders")
                    return []
                if len(orders) > 1:
                    choose_order(dispatcher, orders, "order_status")
                    return []
                number = orders[0].number
            order = await self.client.order(shopper, number)
            parcel = (await self.client.shipment(shopper, number)
                      if order.status in SHIPPED else None)
        except OrderNotFound as exc:
            email = email_for_lookup(tracker)
            if email is not None:
                return [SlotSet("lookup_number", number),
                        FollowupAction("action_order_lookup")]
            dispatcher.utter_message(response="utter_order_not_found_ask_email",
                                     message=exc.message)
            return [SlotSet("lookup_number", number)]
        except UnverifiedShopper:
            dispatcher.utter_message(response="utter_shopper_unverified")
            return []
        except CommerceUnavailable:
            log.warning("order status failed: commerce API unavailable",
                        extra={"conversation_id": tracker.sender_id})
            dispatcher.utter_message(response="utter_orders_unavailable")
            return []
        except (NotShipped, CommerceError) as exc:
            dispatcher.utter_message(response="utter_order_lookup_failed", message=exc.message)
            return []
        show_order(dispatcher, order, parcel)
        return [SlotSet("order_number", order.number), SlotSet("lookup_number", None)]


class ActionOrderLookup(Action):
    """An order by number + the email it was placed with (placed on another channel)."""

    def __init__(self, client: AfterSaleClient | None = None) -> None:
        self.client = client or AfterSaleClient()

    def name(self) -> str:
        return "action_order_lookup"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        number = mentioned_number(tracker) or tracker.get_slot("lookup_number")
        email = email_for_lookup(tracker)
        if number is None and (given := wrong_number(tracker)) is not None:
            dispatcher.utter_message(response="utter_not_an_order_number", given=given)
            return []
        if number is None and without_number(tracker):
            return help_without_number(dispatcher)
        if number is None:
            dispatcher.utter_message(response="utter_ask_order_number_and_email")
            return []
        if email is None:
            dispatcher.utter_message(response="utter_ask_order_email", number=number)
            return [SlotSet("lookup_number", number)]
        try:
            order = await self.client.lookup(number, email)
            parcel = (await self.client.shipment_by_id(order.id)
                      if order.status in SHIPPED else None)
        except OrderNotFound:  # the number is kept: another email retries the lookup
            dispatcher.utter_message(response="utter_order_lookup_not_found", number=number,
                                     email=email)
            return [SlotSet("lookup_number", number)]
        except CommerceUnavailable:
            dispatcher.utter_message(response="utter_orders_unavailable")
            return []
        except (NotShipped, CommerceError) as exc:
            dispatcher.utter_message(response="utter_order_lookup_failed", message=exc.message)
            return []
        show_order(dispatcher, order, parcel, buttons=False)
        return [SlotSet("lookup_number", None), SlotSet("lookup_email", None)]
