"""What every shopping action shares: the commerce client, errors as sentences, and
reading which product, line or quantity the shopper means."""

from __future__ import annotations

import functools
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CommerceClient, CommerceError, CommerceUnavailable
from actions.metrics import ACTION_DURATION
from actions.shopper import UnverifiedShopper
from commerce_core.observability.logs import accept_request_id, request_id

log = logging.getLogger(__name__)

SKIP = "any"
"""Slot value of a preference the shopper chose not to give ("no budget", "any colour")."""

_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7,
    "last": -1, "latter": -1, "former": 0,
}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "couple": 2, "a couple": 2, "pair": 2,
    "a pair": 2, "three": 3, "few": 3, "a few": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "a dozen": 12,
}
_CHEAPEST = re.compile(r"\b(?:cheapest|least expensive|most affordable|lowest price[d]?)\b",
                       re.I)
_DEAREST = re.compile(r"\b(?:most expensive|priciest|dearest|highest price[d]?)\b", re.I)
_FIELD_WORDS = {"postal_code": "postcode", "line1": "street address", "name": "name",
                "city": "city", "country": "country", "email": "email address",
                "quantity": "quantity"}
_SKIP_RE = re.compile(
    r"^\s*(?:no|nope|none|nothing|skip(?: it| this)?|pass|any(?:thing)?|whatever|"
    r"not really|no preference|no idea|not sure|dunno|idk|(?:i )?don'?t know|no clue|"
    r"i don'?t mind|i don'?t care|doesn'?t matter|"
    r"it doesn'?t matter|don'?t mind|no budget|any budget|any price|no limit|"
    r"anything is fine|surprise me|any colou?r|all|either|n/?a)\s*[.!]*\s*$", re.I)


def is_skip(text: str) -> bool:
    """Whether an answer declines the question ("no budget", "skip", "I don't mind")."""
    return bool(_SKIP_RE.match(text or ""))


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def latest_entities(tracker: Tracker) -> dict[str, str]:
    """First value of each entity in the latest message, lower-cased."""
    out: dict[str, str] = {}
    for entity in tracker.latest_message.get("entities", []):
        name, value = entity.get("entity"), entity.get("value")
        if name and isinstance(value, str) and name not in out:
            out[name] = value.strip().lower()
    return out


def ordinal_index(value: str | None) -> int | None:
    """``"second"`` → 1, ``"last"`` → -1, ``"3"`` → 2; None when it is not an ordinal."""
    if not value:
        return None
    word = value.strip().lower()
    if word.isdigit() and 0 < int(word) <= 100:
        return int(word) - 1
    return _ORDINALS.get(word)


def previous_turn(tracker: Tracker) -> list[dict[str, Any]]:
    """The events of the bot's turn before the shopper's latest message, latest first."""
    turn: list[dict[str, Any]] = []
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                break
            seen_user = True
        elif seen_user:
            turn.append(event)
    return turn


_BUTTON_BY_PLACE = re.compile(
    r"^\s*(?:(?:i'?ll (?:take|go with)|i'?d like|(?:let'?s )?go with|take|pick)\s+)?"
    r"(?:the\s+)?(?:(?P<word>first|second|third|fourth|fifth|sixth|last|1st|2nd|3rd|4th|"
    r"5th|6th)(?:\s+(?:one|option|button|choice))?|(?:option|number|no\.?|#)\s*"
    r"(?P<digit>[1-9]))\s*,?\s*(?:please|pls|thanks)?\s*[.!]*\s*$", re.I)
"""An answer that picks one of the buttons under a question by its place ("the third
one", "option 2", "the last one"); a bare number is left alone (an amount, a size)."""


def chosen_button(tracker: Tracker) -> str | None:
    """The payload of the button the latest message picks by its place, under the
    question the bot asked just before it; None if it picks none."""
    text = str(tracker.latest_message.get("text") or "")
    found = _BUTTON_BY_PLACE.match(text)
    if not found:
        return None
    asked = next((e for e in previous_turn(tracker) if e.get("event") == "bot"), None)
    buttons = ((asked or {}).get("data") or {}).get("buttons") or []
    button = pick(buttons, found.group("word") or found.group("digit"))
    payload = button.get("payload") if isinstance(button, dict) else None
    return str(payload) if payload else None


def parse_quantity(value: str | None) -> int | None:
    if not value:
        return None
    word = value.strip().lower()
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def pick(items: list[Any], ordinal: str | None) -> Any | None:
    index = ordinal_index(ordinal)
    if index is None or not items or index >= len(items) or index < -len(items):
        return None
    return items[index]


def by_price(tracker: Tracker) -> str | None:
    """The shown product "the cheapest one" or "the most expensive one" means, or None
    when the message says neither or the prices of the cards on screen are not known.
    Close matches count only when every card is one: "the cheapest one" of silver rings
    is a ring, not the ring dish shown after them."""
    text = tracker.latest_message.get("text") or ""
    cheapest, dearest = bool(_CHEAPEST.search(text)), bool(_DEAREST.search(text))
    if cheapest == dearest:
        return None
    shown = [str(p) for p in tracker.get_slot("shown_products") or []]
    last = tracker.get_slot("last_search")
    if not shown or not isinstance(last, dict):
        return None
    prices = last.get("prices")
    on_screen = [str(p) for p in last.get("shown") or []][-len(shown):]
    if on_screen != shown or not isinstance(prices, list) or len(prices) != len(shown):
        return None  # the cards on screen are not the last search's
    try:
        priced = [(Decimal(str(price)), product)
                  for price, product in zip(prices, shown, strict=True)]
    except ArithmeticError:  # decimal.InvalidOperation: a slot that is not a price
        return None
    close = {str(p) for p in last.get("close") or []}  # lacking something asked for
    pick_one = min if cheapest else max
    return pick_one([item for item in priced if item[1] not in close] or priced,
                    key=lambda item: item[0])[1]


def chosen_card(tracker: Tracker) -> str | None:
    """The card on screen "the second one" or "the cheapest one" picks, if it names one."""
    shown = [str(p) for p in tracker.get_slot("shown_products") or []]
    return pick(shown, latest_entities(tracker).get("ordinal")) or by_price(tracker)


async def named_product(client: CommerceClient, tracker: Tracker) -> str | None:
    """The product the typed message names ("add the hand-bound linen notebook"), read
    against the live catalog; a button, "the second one" or "the cheapest one" needs no
    reading (``mentioned_product``)."""
    entities = latest_entities(tracker)
    text = tracker.latest_message.get("text") or ""
    if entities.get("product_id") or entities.get("ordinal") or text.startswith("/") \
            or chosen_card(tracker) is not None:
        return None
    reading = await client.interpret(text)
    return str(reading.product.id) if reading.product else None


def mentioned_product(tracker: Tracker) -> str | None:
    """The product id the shopper means: a button's id, "the second one" or "the
    cheapest one" among the shown products, else the product the conversation is about,
    else the only one shown."""
    entities = latest_entities(tracker)
    product_id = entities.get("product_id")
    if product_id and product_id.isdigit():
        return product_id
    chosen = chosen_card(tracker)
    if chosen is not None:
        return chosen
    shown = [str(p) for p in tracker.get_slot("shown_products") or []]
    current = tracker.get_slot("product_id")
    if current and str(current).isdigit():
        return str(current)
    return shown[0] if len(shown) == 1 else None


def refusals(exc: CommerceError) -> str:
    """The reasons the rules of a product give for refusing a customisation."""
    details = exc.details if isinstance(exc.details, list) else []
    return " ".join(str(v.get("message")) for v in details if isinstance(v, dict))


def refused_field(exc: CommerceError) -> tuple[str, str]:
    """The field of a request the shop refused, in words, and why (``invalid_request``)."""
    detail = exc.details[0] if isinstance(exc.details, list) and exc.details else {}
    where = str(detail.get("location", "")).rsplit(".", 1)[-1]
    reason = str(detail.get("reason", "")).removeprefix("Value error, ")
    return _FIELD_WORDS.get(where, where.replace("_", " ") or "request"), reason.lower()


def explain(dispatcher: CollectingDispatcher, exc: CommerceError) -> None:
    """Tell the shopper, in a sentence they understand, why the shop refused."""
    if isinstance(exc, CommerceUnavailable):
        dispatcher.utter_message(response="utter_catalogue_unavailable")
    elif isinstance(exc, UnverifiedShopper):
        dispatcher.utter_message(response="utter_shopper_unverified")
    elif exc.code == "invalid_customization" and isinstance(exc.details, list):
        dispatcher.utter_message(response="utter_shop_refused", message=refusals(exc))
    elif exc.code in {"product_not_found", "variant_not_found"}:
        dispatcher.utter_message(response="utter_product_gone")
    elif exc.code == "cart_line_not_found":
        dispatcher.utter_message(response="utter_cart_line_gone")
    elif exc.code == "empty_cart":
        dispatcher.utter_message(response="utter_cart_empty_checkout")
    elif exc.code == "invalid_request" and isinstance(exc.details, list) and exc.details:
        field, reason = refused_field(exc)
        dispatcher.utter_message(response="utter_request_not_accepted", field=field,
                                 reason=reason)
    elif exc.code in {"out_of_stock", "quantity_too_large", "order_expired",
                      "order_not_payable", "currency_mismatch"}:
        dispatcher.utter_message(response="utter_shop_refused", message=exc.message)
    else:
        dispatcher.utter_message(response="utter_did_not_work", message=exc.message)


def bind_turn(tracker: Tracker) -> None:
    """Log and call the API under the request id the gateway gave this turn (its
    ``metadata.request_id``), so one shopper turn can be followed across the processes."""
    metadata = tracker.latest_message.get("metadata")
    given = metadata.get("request_id") if isinstance(metadata, dict) else None
    request_id.set(accept_request_id(given if isinstance(given, str) else None))


RunMethod = TypeVar("RunMethod", bound=Callable[..., Awaitable[list[EventType]]])


def in_turn(run: RunMethod) -> RunMethod:
    """Decorates an action's ``run``: it runs under the turn's request id, and its time is
    counted by action and outcome (``actions.metrics``)."""
    @functools.wraps(run)
    async def wrapper(self: Action, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> list[EventType]:
        bind_turn(tracker)
        started, outcome = time.perf_counter(), "error"
        try:
            events = await run(self, dispatcher, tracker, domain)
            outcome = "ok"
            return events
        finally:
            ACTION_DURATION.labels(self.name(), outcome).observe(time.perf_counter() - started)
    return wrapper  # type: ignore[return-value]


class CommerceAction(Action, ABC):
    """An action that talks to the commerce API (one client per action instance).

    Subclasses implement ``act``; any refusal of the API is told to the shopper as a
    sentence and changes no slot, so nothing the shopper gave is lost.
    """

    def __init__(self, client: CommerceClient | None = None) -> None:
        self.client = client or CommerceClient()

    @abstractmethod
    def name(self) -> str: ...

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        raise NotImplementedError

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        try:
            return await self.act(dispatcher, tracker, domain)
        except CommerceUnavailable as exc:
            log.warning("%s: commerce API unavailable: %s", self.name(), exc.message,
                        extra={"conversation_id": tracker.sender_id})
            dispatcher.utter_message(response="utter_catalogue_unavailable")
        except CommerceError as exc:
            log.info("%s: commerce API refused: %s %s", self.name(), exc.code, exc.message,
                     extra={"conversation_id": tracker.sender_id})
            explain(dispatcher, exc)
        return []
