"""Checkout: email and shipping address (validated, confirmed, changeable), then the order
and a link to the hosted payment page. Card data never passes through the chat."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cart import cart_text
from actions.clients import Address, CommerceError, CommerceUnavailable
from actions.common import CommerceAction, in_turn, latest_entities, money, refused_field
from actions.countries import COUNTRIES
from actions.shopper import shopper_of

EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
POSTCODE_CITY = re.compile(r"^(?P<code>[A-Za-z0-9]{2,5}(?:[ -][A-Za-z0-9]{2,4})?)\s+"
                           r"(?P<city>\D.+)$|^(?P<city2>\D.+?)\s+"
                           r"(?P<code2>[A-Za-z0-9]{2,4}[ -]?[A-Za-z0-9]{2,4})$")
_ADDRESS_LEAD = re.compile(r"^\s*(?:my address is|address:|ship (?:it )?to|send (?:it )?to|"
                           r"deliver (?:it )?to)\s*", re.I)
_NAME_LEAD = re.compile(r"^\s*(?:my name is|my name's|name:|i am|i'm|it's|it is|this is)\s+",
                        re.I)
_NAME = re.compile(r"^[^\W\d_][\w .'-]{1,118}$")
_TURN_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def checkout_key(tracker: Tracker) -> str | None:
    """The Idempotency-Key of the order this turn places: the gateway's id of the shopper's
    turn (``metadata.turn_id``), the same when the turn is replayed after the action server
    died mid-turn, so the replay gets the order back instead of placing a second one."""
    metadata = tracker.latest_message.get("metadata")
    turn_id = metadata.get("turn_id") if isinstance(metadata, dict) else None
    return f"turn-{turn_id}" if isinstance(turn_id, str) and _TURN_ID.match(turn_id) else None


@dataclass(frozen=True)
class AddressProblem:
    """What is wrong with an address: the response that says it, about which ``part``."""

    response: str
    part: str = ""


def parse_address(text: str, *, name: str) -> Address | AddressProblem:
    """A one-line address, or what is wrong with it."""
    if len(text or "") > 600:
        return AddressProblem("utter_address_too_long")
    text = _ADDRESS_LEAD.sub("", text or "")
    parts = [p.strip() for p in re.split(r"[,\n;]+", text) if p.strip()]
    if len(parts) < 3:
        return AddressProblem("utter_address_incomplete")
    raw_country = parts[-1].lower().rstrip(".")
    country = COUNTRIES.get(raw_country) or (raw_country.upper() if re.fullmatch(
        r"[a-z]{2}", raw_country) else None)
    if country is None:
        return AddressProblem("utter_address_unknown_country", parts[-1])
    match = POSTCODE_CITY.match(parts[-2])
    if match is None:
        return AddressProblem("utter_address_no_postcode", parts[-2])
    code = match.group("code") or match.group("code2")
    city = match.group("city") or match.group("city2")
    line1, line2 = parts[0], " ".join(parts[1:-2])
    if len(line1) < 3:
        return AddressProblem("utter_address_street_incomplete")
    try:
        address = Address(name=name[:120], line1=line1[:200], line2=line2[:200],
                          city=city.strip()[:100], postal_code=code.upper(), country=country)
    except ValueError:
        return AddressProblem("utter_address_help")
    return address


def address_line(address: dict[str, str]) -> str:
    parts = [address.get("name"), address.get("line1"), address.get("line2"),
             f"{address.get('postal_code')} {address.get('city')}", address.get("country")]
    return ", ".join(p for p in parts if p)


class ActionStartCheckout(CommerceAction):
    """Check the cart before asking for details; sets ``can_checkout`` for the rules."""

    def name(self) -> str:
        return "action_start_checkout"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if not any(e.get("name") == "can_checkout" for e in events):
            events.append(SlotSet("can_checkout", False))
        return events

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        cart = await self.client.cart(shopper_of(tracker).path)
        if not cart.lines:
            pending = tracker.get_slot("pending_order")
            if isinstance(pending, dict) and await self._resend_link(dispatcher, pending):
                return [SlotSet("can_checkout", False)]
            dispatcher.utter_message(response="utter_cart_empty_at_checkout")
            return [SlotSet("can_checkout", False)]
        dispatcher.utter_message(response="utter_start_checkout", cart=cart_text(cart))
        return [SlotSet("can_checkout", True)]

    async def _resend_link(self, dispatcher: CollectingDispatcher,
                           pending: dict[str, Any]) -> bool:
        """A placed order whose link could not be sent: send it now (same payment)."""
        try:
            payment = await self.client.create_payment(
                int(pending["id"]), idempotency_key=f"chat-{pending['number']}")
        except CommerceUnavailable:
            raise
        except CommerceError:
            return False
        dispatcher.utter_message(
            response="utter_order_waiting_for_payment", number=pending["number"],
            json_message={"link": {"title": f"Pay {money(payment.amount, payment.currency)}",
                                   "url": payment.url}})
        return True


class ValidateCheckoutForm(FormValidationAction):
    run = in_turn(FormValidationAction.run)

    def name(self) -> str:
        return "validate_checkout_form"

    def validate_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: dict[str, Any]) -> dict[str, Any]:
        candidates = [latest_entities(tracker).get("email"), str(value or ""),
                      tracker.latest_message.get("text") or ""]
        for candidate in candidates:
            match = EMAIL_RE.search(candidate or "")
            if match and len(match.group(0)) <= 254 and ".." not in match.group(0):
                local, _, host = match.group(0).rpartition("@")
                return {"email": f"{local}@{host.lower()}"}
        dispatcher.utter_message(response="utter_email_not_valid")
        return {"email": None}

    def validate_full_name(self, value: Any, dispatcher: CollectingDispatcher,
                           tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        name = " ".join(_NAME_LEAD.sub("", str(value or "")).split()).rstrip(".!")
        if not _NAME.match(name) or len(name) < 2:
            dispatcher.utter_message(response="utter_name_not_valid")
            return {"full_name": None}
        return {"full_name": name}

    def validate_shipping_address(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if isinstance(value, dict):
            return {"shipping_address": value}
        text = tracker.latest_message.get("text") or ""
        address = parse_address(text if not text.startswith("/") else str(value),
                                name=str(tracker.get_slot("full_name") or "Customer"))
        if isinstance(address, AddressProblem):
            dispatcher.utter_message(response=address.response, part=address.part)
            return {"shipping_address": None}
        return {"shipping_address": address.model_dump()}


class ActionConfirmCheckout(CommerceAction):
    """Show what will be ordered, where it goes and the total; ask to confirm."""

    def name(self) -> str:
        return "action_confirm_checkout"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        address = tracker.get_slot("shipping_address") or {}
        cart = await self.client.cart(shopper_of(tracker).path,
                                      country=address.get("country"))
        dispatcher.utter_message(
            response="utter_confirm_checkout", cart=cart_text(cart),
            address=address_line(address), email=str(tracker.get_slot("email")),
            buttons=[{"title": "Yes, place the order", "payload": "/affirm"},
                     {"title": "Change the address", "payload": "/change_shipping_address"},
                     {"title": "Change the email", "payload": "/inform"}])
        return []


class ActionChangeCheckoutDetails(CommerceAction):
    """The shopper wants other details: "change the address" forgets name and address,
    "change the email" takes the new one or forgets the old; the form asks again."""

    def name(self) -> str:
        return "action_change_checkout_details"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "change_shipping_address":
            dispatcher.utter_message(response="utter_change_delivery_details")
            return [SlotSet("full_name", None), SlotSet("shipping_address", None)]
        given = EMAIL_RE.search(latest_entities(tracker).get("email") or "")
        if given:
            return [SlotSet("email", given.group(0))]
        dispatcher.utter_message(response="utter_correct_email")
        return [SlotSet("email", None)]


class ActionPlaceOrder(CommerceAction):
    """Place the order (stock is reserved) and send the payment link."""

    def name(self) -> str:
        return "action_place_order"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        email, address = tracker.get_slot("email"), tracker.get_slot("shipping_address")
        if not email or not isinstance(address, dict):
            dispatcher.utter_message(response="utter_checkout_details_missing")
            return []
        try:
            order = await self.client.checkout(shopper_of(tracker).path, email=email,
                                               address=Address.model_validate(address),
                                               idempotency_key=checkout_key(tracker))
        except CommerceError as exc:
            if exc.code == "invalid_request":
                field, reason = refused_field(exc)
                dispatcher.utter_message(response="utter_checkout_not_accepted", field=field,
                                         reason=reason)
                return [SlotSet("shipping_address", None)]
            raise
        pending = {"id": order.id, "number": order.number}
        total = money(order.total, order.currency)
        try:
            payment = await self.client.create_payment(
                order.id, idempotency_key=f"chat-{order.number}")
        except CommerceError:
            dispatcher.utter_message(response="utter_order_placed_without_link",
                                     number=order.number)
            return [SlotSet("pending_order", pending), SlotSet("can_checkout", False)]
        until = f"{order.reserved_until:%H:%M}" if order.reserved_until else ""
        dispatcher.utter_message(
            response="utter_order_placed_reserved" if until else "utter_order_placed",
            number=order.number, total=total, until=until,
            json_message={"link": {"title": f"Pay {total}", "url": payment.url}})
        return [SlotSet("pending_order", pending), SlotSet("can_checkout", False)]
