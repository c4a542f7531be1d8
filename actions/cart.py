"""Cart: add (with quantity and customisation), remove, change quantity, view with totals."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import Cart, CartLine, CommerceError, Product
from actions.common import (
    CommerceAction,
    chosen_card,
    latest_entities,
    mentioned_product,
    money,
    named_product,
    ordinal_index,
    parse_quantity,
    previous_turn,
    refusals,
)
from actions.countries import country_named
from actions.recommend import suggest_with
from actions.shopper import shopper_of
from actions.sizes import (
    has_sizes,
    label,
    sizes_of,
    sizes_on_offer,
    variant_of,
    wanted_size,
)

MAX_QUANTITY = 99
CART_BUTTONS = [{"title": "View cart", "payload": "/view_cart"},
                {"title": "Check out", "payload": "/checkout"}]
_WORD = re.compile(r"[a-z]{3,}")
# "remove one", "take two off", "one less": how many to take off a line (not "remove the
# second one", which names the line)
_FEWER = re.compile(r"\b(?:remove|take(?: away| off| out)?|delete|drop|minus)\s+"
                    r"(one|two|three|four|five|an?|\d{1,2})\b(?!\s*(?:st|nd|rd|th)\b)"
                    r"|\b(one|two|three|an?|\d{1,2})\s+(?:less|fewer)\b", re.I)


def describe_options(options: dict[str, Any]) -> str:
    shown = [f"{k.replace('_', ' ')}: {'yes' if v is True else v}"
             for k, v in options.items() if v not in (None, False, "")]
    return f" ({'; '.join(shown)})" if shown else ""


def cart_text(cart: Cart) -> str:
    if not cart.lines:
        return "Your cart is empty."
    lines = [f"{i}. {line.name}{describe_options(line.options)} × {line.quantity} — "
             f"{money(line.line_total, cart.currency)}"
             + ("" if line.in_stock else " (not enough in stock)")
             for i, line in enumerate(cart.lines, start=1)]
    return "\n".join([
        "Your cart:", *lines,
        f"Subtotal {money(cart.subtotal, cart.currency)}, shipping to "
        f"{cart.shipping_country} {money(cart.shipping, cart.currency)}: total "
        f"{money(cart.total, cart.currency)} (incl. {money(cart.tax, cart.currency)} VAT)."])


def choose_variant(product: Product, size: str | None) -> tuple[int, str]:
    """(variant id, " (size L)" or "") for the size the shopper named, else the first
    variant in stock."""
    sized = variant_of(product, size) if size else None
    in_stock = [v for v in product.variants if v.stock > 0]
    variant = sized or (in_stock or product.variants)[0]
    chosen = variant.attributes.get("size")
    return variant.id, (f" (size {label(chosen)})" if chosen and has_sizes(product) else "")


def find_line(tracker: Tracker, cart: Cart) -> CartLine | None:
    """The cart line the shopper means: a button's product, "the second one" (None when
    the cart has no second line), a product word of the message, or the only line."""
    entities = latest_entities(tracker)
    if entities.get("product_id"):
        return next((x for x in cart.lines if str(x.product_id) == entities["product_id"]),
                    None)
    index = ordinal_index(entities.get("ordinal"))
    if index is not None:  # past the cart's lines it means a card on screen, not the cart
        return cart.lines[index] if -len(cart.lines) <= index < len(cart.lines) else None
    text = (tracker.latest_message.get("text") or "").lower()
    words = {w.rstrip("s") for w in _WORD.findall(text)}
    named = [x for x in cart.lines
             if words & {w.rstrip("s") for w in _WORD.findall(x.name.lower())}]
    if len(named) == 1:
        return named[0]
    return cart.lines[0] if len(cart.lines) == 1 else None

# "make that one", "change it to three", "just two": the quantity in words, when the NLU
# found no number (it reads "make it 2" itself)
_SET_TO = re.compile(
    r"\b(?:make|change|set|want|need|just|only)(?:\s+(?:it|that|this|them|those))?"
    r"(?:\s+(?:to|at))?\s+(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"a dozen|dozen|a couple|a pair|zero|none)\b", re.I)


def quantity_in_words(text: str) -> int | None:
    """The quantity "make that one" or "change it to three" sets, or None."""
    found = _SET_TO.search(text)
    if found is None:
        return None
    word = found.group(1).lower()
    return 0 if word in {"zero", "none"} else parse_quantity(word)


def how_many_fewer(tracker: Tracker) -> int | None:
    """How many pieces "remove one" / "take two off" takes off a line; None when the
    message removes the line itself ("remove the mug", "remove the second one")."""
    found = _FEWER.search(tracker.latest_message.get("text") or "")
    if found is None:
        return None
    return parse_quantity((found.group(1) or found.group(2)).lower())


def which_line_buttons(cart: Cart, intent: str, quantity: int | None = None) -> list[dict]:
    extra = f', "quantity": "{quantity}"' if quantity else ""
    return [{"title": line.name,
             "payload": f'/{intent}{{"product_id": "{line.product_id}"{extra}}}'}
            for line in cart.lines]


ADDED = frozenset({"utter_added_to_cart_one_item", "utter_added_to_cart"})
"""The responses that say a piece was just added."""
_AGAIN = re.compile(r"\b(?:another|one more|again|more|too|as well|also|extra|second)\b", re.I)


def just_added(tracker: Tracker) -> str | None:
    """The product the bot added to the cart in its turn before the latest message."""
    turn = previous_turn(tracker)
    if not any((e.get("metadata") or {}).get("utter_action") in ADDED
               for e in turn if e.get("event") == "bot"):
        return None
    return next((str(e.get("value")) for e in turn
                 if e.get("event") == "slot" and e.get("name") == "product_id"), None)


def adds_again(tracker: Tracker, product_id: str) -> bool:
    """Whether the latest message repeats the adding of the piece just added ("ok the
    second one please", then "add it"): typed, with no quantity, no other piece and no
    "another" or "one more"."""
    text = str(tracker.latest_message.get("text") or "")
    entities = latest_entities(tracker)
    return (not text.startswith("/") and not _AGAIN.search(text)
            and not {"quantity", "product_id", "ordinal"} & entities.keys()
            and just_added(tracker) == product_id)


class ActionAddToCart(CommerceAction):
    def name(self) -> str:
        return "action_add_to_cart"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        product_id = await named_product(self.client, tracker) or mentioned_product(tracker)
        if product_id is None:
            dispatcher.utter_message(response="utter_which_shown_product_to_add"
                                     if tracker.get_slot("shown_products")
                                     else "utter_which_product_to_add")
            return []
        if adds_again(tracker, product_id):  # said twice: added once
            product = await self.client.product(int(product_id))
            dispatcher.utter_message(
                response="utter_already_added", name=product.name,
                buttons=[{"title": "Add another",
                          "payload": f'/add_to_cart{{"product_id": "{product_id}"}}'},
                         *CART_BUTTONS])
            return []
        quantity = parse_quantity(latest_entities(tracker).get("quantity")) or 1
        return await self.add(dispatcher, tracker, product_id, quantity)

    async def add(self, dispatcher: CollectingDispatcher, tracker: Tracker, product_id: str,
                  quantity: int) -> list[EventType]:
        """``quantity`` of the product, with the options chosen for it, in the cart."""
        if not 1 <= quantity <= MAX_QUANTITY:
            dispatcher.utter_message(response="utter_quantity_out_of_range", most=MAX_QUANTITY)
            return []
        state = tracker.get_slot("customization") or {}
        options = state.get("choices", {}) if state.get("product_id") == product_id else {}
        product = await self.client.product(int(product_id))
        if state.get("product_id") == product_id and state.get("variant_id"):
            variant_id, size = int(state["variant_id"]), f" (size {state['size']})"
        else:
            named = wanted_size(tracker)
            if (has_sizes(product) and named is None) or (
                    named is not None and sizes_of(product) and variant_of(product, named) is None):
                # a size it does not come in, even of a piece made in one size, is told
                return self._ask_size(dispatcher, product, named, quantity)
            variant_id, size = choose_variant(product, named)
        shopper = shopper_of(tracker)
        try:
            cart = await self.client.add_to_cart(
                shopper.path, variant_id=variant_id, quantity=quantity, options=options)
        except CommerceError as exc:
            if exc.code != "invalid_customization":
                raise
            dispatcher.utter_message(
                response="utter_needs_personalising", name=product.name, problems=refusals(exc),
                buttons=[{"title": "Personalise", "payload":
                          f'/customize_product{{"product_id": "{product.id}"}}'}])
            return [SlotSet("product_id", product_id)]
        dispatcher.utter_message(
            response="utter_added_to_cart_one_item" if cart.item_count == 1
            else "utter_added_to_cart",
            quantity=quantity, name=product.name, size=size, options=describe_options(options),
            count=cart.item_count, subtotal=money(cart.subtotal, cart.currency),
            buttons=[*CART_BUTTONS, {"title": "Keep shopping", "payload": "/search_product"}])
        await suggest_with(self.client, dispatcher, shopper=shopper, product=product.id,
                           cart=cart, conversation_id=tracker.sender_id)
        return [SlotSet("product_id", product_id), SlotSet("customization", None)]


    @staticmethod
    def _ask_size(dispatcher: CollectingDispatcher, product: Product, named: str | None,
                  quantity: int) -> list[EventType]:
        """Which of the sizes in stock: one button each, which adds that variant."""
        extra = {"quantity": str(quantity)} if quantity != 1 else {}
        _, shown, buttons = sizes_on_offer(product, **extra)
        if named is None:
            dispatcher.utter_message(response="utter_ask_size", sizes=shown, buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_size_not_in_stock", size=label(named),
                                     name=product.name, sizes=shown, buttons=buttons)
        return [SlotSet("product_id", str(product.id))]


class ActionViewCart(CommerceAction):
    def name(self) -> str:
        return "action_view_cart"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        country = None if text.startswith("/") else country_named(text)  # "…shipping to spain"
        cart = await self.client.cart(shopper_of(tracker).path, country=country)
        buttons = [{"title": "Check out", "payload": "/checkout"}] if cart.lines else []
        dispatcher.utter_message(response="utter_cart", cart=cart_text(cart), buttons=buttons)
        return []


class ActionRemoveFromCart(CommerceAction):
    def name(self) -> str:
        return "action_remove_from_cart"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        shopper = shopper_of(tracker).path
        cart = await self.client.cart(shopper)
        if not cart.lines:
            dispatcher.utter_message(response="utter_cart_already_empty")
            return []
        line = find_line(tracker, cart)
        if line is None:
            dispatcher.utter_message(response="utter_which_item_to_remove",
                                     buttons=which_line_buttons(cart, "remove_from_cart"))
            return []
        fewer = how_many_fewer(tracker)
        if fewer is not None and fewer < line.quantity:
            left = line.quantity - fewer
            cart = await self.client.set_quantity(shopper, line_id=line.id, quantity=left)
            dispatcher.utter_message(response="utter_cart_fewer", quantity=left,
                                     name=line.name, cart=cart_text(cart))
            return []
        cart = await self.client.remove_line(shopper, line_id=line.id)
        dispatcher.utter_message(response="utter_removed_from_cart", name=line.name,
                                 cart=cart_text(cart))
        return []


class ActionChangeQuantity(CommerceAction):
    def name(self) -> str:
        return "action_change_quantity"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        shopper = shopper_of(tracker).path
        cart = await self.client.cart(shopper)
        if not cart.lines and chosen_card(tracker) is None:
            dispatcher.utter_message(response="utter_cart_empty_nothing_to_change")
            return []
        if how_many_fewer(tracker) is not None:  # "one less", "take two off"
            return await ActionRemoveFromCart(self.client).act(dispatcher, tracker, domain)
        quantity = parse_quantity(latest_entities(tracker).get("quantity"))
        text = tracker.latest_message.get("text") or ""
        if quantity is None:
            digits = re.findall(r"\b\d{1,3}\b", text)
            quantity = int(digits[-1]) if digits else quantity_in_words(text)
        if quantity is None:
            dispatcher.utter_message(response="utter_ask_quantity")
            return []
        line = find_line(tracker, cart)
        card = chosen_card(tracker) if line is None else None
        if card is not None:  # "and two of the second": a card on screen
            line = next((x for x in cart.lines if str(x.product_id) == card), None)
            if line is None:
                return await ActionAddToCart(self.client).add(dispatcher, tracker, card,
                                                              quantity)
        if line is None:
            dispatcher.utter_message(response="utter_which_item_to_change",
                                     buttons=which_line_buttons(cart, "change_quantity",
                                                                quantity))
            return []
        if quantity == 0:
            cart = await self.client.remove_line(shopper, line_id=line.id)
            dispatcher.utter_message(response="utter_removed", name=line.name,
                                     cart=cart_text(cart))
            return []
        if quantity > MAX_QUANTITY:
            dispatcher.utter_message(response="utter_quantity_too_large", most=MAX_QUANTITY)
            return []
        cart = await self.client.set_quantity(shopper, line_id=line.id, quantity=quantity)
        dispatcher.utter_message(response="utter_quantity_changed", quantity=quantity,
                                 name=line.name, cart=cart_text(cart))
        return []
