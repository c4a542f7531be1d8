"""Customisation: a form driven by the product's rules in the commerce core.

``action_start_customization`` stores the product's applicable options in the slot
``customization`` ({"product_id", "name", "options", "choices", "answered"}). The form
asks one option at a time through the slot ``option_answer``; each answer is checked by
the commerce core's rule engine (the quote endpoint) and a refusal is told in the rule's
own words. At the end ``action_quote_customization`` quotes price and ready-by date.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CommerceClient, CommerceError, CommerceUnavailable, Product, Quote
from actions.common import UNAVAILABLE, CommerceAction, explain, in_turn, is_skip, mentioned_product
from actions.common import money as fmt_money
from actions.sizes import (
    has_sizes,
    label,
    size_answer,
    size_buttons,
    sizes_of,
    variant_of,
    wanted_size,
)

log = logging.getLogger(__name__)
SIZE = "size"
"""Name and kind of the size question (not an option of the rules: it picks the variant)."""
_YES = re.compile(r"^\s*(?:y|yes|yeah|yep|sure|ok|okay|please|yes please|go on|why not)\b", re.I)
_QUOTED = re.compile(r"[\"“‘']([^\"”’']{1,200})[\"”’']")
_SPEC_KEYS = ("name", "label", "kind", "values", "max_length", "charset", "required",
              "price_delta", "price_delta_percent", "price_delta_by_value", "extra_days",
              "only_when", "not_when")


def _token(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


def _option_conditions_hold(spec: dict[str, Any], choices: dict[str, Any],
                            specs: dict[str, dict[str, Any]]) -> bool:
    """Whether an option may be offered given earlier answers (its conditions on other
    options; the commerce core already applied those on product attributes)."""
    def holds(condition: dict[str, Any]) -> bool:
        other = condition["option"]
        actual = choices.get(other)
        if actual is None and specs.get(other, {}).get("kind") == "boolean":
            actual = False
        return actual is not None and _token(actual) in {_token(v) for v in condition["in"]}

    def of(key: str) -> list[dict[str, Any]]:
        return [c for c in spec.get(key) or [] if isinstance(c, dict) and "option" in c]
    return all(holds(c) for c in of("only_when")) and not any(holds(c) for c in of("not_when"))


def current_option(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The next option to ask about, or None when every applicable one is answered."""
    if not state:
        return None
    specs = {o["name"]: o for o in state.get("options", [])}
    choices, answered = state.get("choices", {}), set(state.get("answered", []))
    return next((o for o in state.get("options", []) if o["name"] not in answered
                 and _option_conditions_hold(o, choices, specs)), None)


def _price_note(spec: dict[str, Any], currency: str) -> str:
    if spec.get("price_delta_percent"):
        return f"+{spec['price_delta_percent']}%"
    delta = spec.get("price_delta")
    if delta and str(delta) not in {"0", "0.00"}:
        return f"+{delta} {currency}"
    return ""


def question(spec: dict[str, Any], currency: str) -> tuple[str, list[dict[str, str]]]:
    """The question for one option and its buttons."""
    label = spec.get("label") or spec["name"].replace("_", " ")
    notes = [n for n in (_price_note(spec, currency),
                         f"{spec['extra_days']} more making days" if spec.get("extra_days")
                         else "") if n]
    extra = f" ({', '.join(notes)})" if notes else ""
    skip = [] if spec.get("required") else [{"title": "No thanks", "payload": "/deny"}]
    if spec["kind"] == "boolean":
        return (f"Would you like {label[0].lower()}{label[1:]}{extra}?",
                [{"title": "Yes please", "payload": "/affirm"}, *skip])
    if spec["kind"] == "choice":
        buttons = [{"title": str(v), "payload": str(v)} for v in spec.get("values", [])]
        return f"{label}{extra}: which would you like?", [*buttons, *skip]
    limit = f"up to {spec['max_length']} characters" if spec.get("max_length") else ""
    allowed = f"{spec['charset']}" if spec.get("charset") else ""
    rules = "; ".join(x for x in (limit, allowed) if x)
    ask = f"{label}{extra}: what should it say?" + (f" ({rules})" if rules else "")
    return (ask + ("" if spec.get("required") else " Say \"skip\" if you'd rather not."),
            skip)


def _choice_value(spec: dict[str, Any], text: str) -> str:
    """The listed value the shopper means ("cobalt please" → "cobalt blue"), else the text
    as written, for the rule engine to refuse in its own words."""
    words = text.strip().casefold()
    values = [str(v) for v in spec.get("values", [])]
    exact = [v for v in values if v.casefold() == words]
    if exact:
        return exact[0]
    named = [v for v in values if re.search(rf"(?<![\w]){re.escape(v.casefold())}(?![\w])",
                                            words)]
    if named:
        return max(named, key=len)
    partial = [v for v in values if len(words) >= 3 and words in v.casefold()]
    return partial[0] if len(partial) == 1 else text.strip()


def answer_value(spec: dict[str, Any], tracker: Tracker, value: Any) -> Any:
    """What the latest message answers for ``spec``: None when declined."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        text = str(value or "") if not text.startswith(("/affirm", "/deny")) else ""
    if spec["kind"] == "boolean":
        if intent == "affirm" or _YES.match(text):
            return True
        if intent == "deny" or is_skip(text):
            return None
        return text.strip()
    if intent == "deny" or is_skip(text) or (not text and intent != "affirm"):
        return None
    if spec["kind"] == "choice":
        return _choice_value(spec, text)
    engraving = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                      if e.get("entity") == "engraving_text"), None)
    quoted = _QUOTED.search(text)
    return str(engraving or (quoted.group(1) if quoted else text)).strip()


def describe_quote(quote: Quote, name: str) -> str:
    chosen = "; ".join(
        f"{line.label.lower()}: {('yes' if line.value is True else line.value)}"
        + (f" (+{fmt_money(line.price_delta, quote.currency)})" if line.price_delta else "")
        for line in quote.lines)
    ready = date.fromisoformat(quote.ready_by).strftime("%A %-d %B %Y")
    return (f"{name}{' with ' + chosen if chosen else ''}: "
            f"{fmt_money(quote.unit_price, quote.currency)} each, ready by {ready}.")


class ActionStartCustomization(CommerceAction):
    """Find the product to personalise and load its options from the commerce core."""

    def name(self) -> str:
        return "action_start_customization"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if not any(isinstance(e, dict) and e.get("name") == "can_customize" for e in events):
            events.append(SlotSet("can_customize", False))
        return events

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        product_id = mentioned_product(tracker)
        if product_id is None:
            dispatcher.utter_message(response="utter_which_product_to_customize")
            return [SlotSet("can_customize", False)]
        product = await self.client.product(int(product_id))
        options = [{k: o[k] for k in _SPEC_KEYS if k in o} for o in product.customization]
        options.sort(key=lambda o: not o.get("required"))  # what must be chosen comes first
        if has_sizes(product):  # the size first: it says which variant is personalised
            options.insert(0, size_spec(product))
        state = {"product_id": str(product.id), "name": product.name,
                 "currency": product.currency, "options": options, "choices": {},
                 "answered": []}
        events: list[EventType] = [SlotSet("product_id", str(product.id)),
                                   SlotSet("customization", state),
                                   SlotSet("option_answer", None)]
        if not options:
            dispatcher.utter_message(
                text=f"{product.name} comes just as shown; it has no personalisation options.",
                buttons=[{"title": "Add to cart",
                          "payload": f'/add_to_cart{{"product_id": "{product.id}"}}'}])
            return [*events, SlotSet("can_customize", False)]
        dispatcher.utter_message(text=f"Let's personalise {product.name}. "
                                      "Say \"stop\" at any time to leave it as it is.")
        return [*events, SlotSet("can_customize", True)]


def size_spec(product: Product) -> dict[str, Any]:
    """The size question of a product whose variants come in sizes: its answer picks the
    variant, so an option that would resize to one of those sizes is not asked."""
    sizes = sizes_of(product, in_stock=True)
    return {"name": SIZE, "kind": SIZE, "required": True, "values": sizes,
            "variants": {s.casefold(): v.id for s in sizes
                         if (v := variant_of(product, s)) is not None}}


def choose_size(dispatcher: CollectingDispatcher, tracker: Tracker, state: dict[str, Any],
                spec: dict[str, Any]) -> dict[str, Any]:
    """The form's slots after an answer to the size question."""
    size = size_answer(tracker)
    variant = spec["variants"].get(size.casefold()) if size else None
    if size is None or variant is None:
        if size and (wanted_size(tracker) or len(size) <= 2):
            dispatcher.utter_message(response="utter_size_not_in_stock", size=label(size),
                                     name=state["name"], sizes=_sizes_text(spec))
        return {"option_answer": None}
    resizes = [o["name"] for o in state.get("options", []) if o.get("kind") == "choice"
               and size.casefold() in {_token(v) for v in o.get("values", [])}]
    return {"option_answer": None, "customization": {
        **state, "variant_id": variant, "size": label(size),
        "answered": [*state.get("answered", []), SIZE, *resizes]}}


def _sizes_text(spec: dict[str, Any]) -> str:
    return ", ".join(label(s) for s in spec.get("values", [])) or "none at the moment"


class ActionAskOptionAnswer(Action):
    def name(self) -> str:
        return "action_ask_option_answer"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        state = tracker.get_slot("customization")
        spec = current_option(state)
        if spec is not None and spec["kind"] == SIZE:
            dispatcher.utter_message(response="utter_ask_size", sizes=_sizes_text(spec),
                                     buttons=size_buttons(spec["values"], "inform"))
        elif spec is not None:
            text, buttons = question(spec, state.get("currency", "EUR"))
            dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ValidateCustomizationForm(FormValidationAction):
    run = in_turn(FormValidationAction.run)

    def __init__(self, client: CommerceClient | None = None) -> None:
        self.client = client or CommerceClient()

    def name(self) -> str:
        return "validate_customization_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        return ["option_answer"] if current_option(tracker.get_slot("customization")) else []

    async def validate_option_answer(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: dict[str, Any]
                                     ) -> dict[str, Any]:
        state = dict(tracker.get_slot("customization") or {})
        spec = current_option(state)
        if spec is None:
            return {"option_answer": None}
        if spec["kind"] == SIZE:
            return choose_size(dispatcher, tracker, state, spec)
        name = spec["name"]
        chosen = answer_value(spec, tracker, value)
        choices = {k: v for k, v in state.get("choices", {}).items() if k != name}
        trial = {**choices, **({name: chosen} if chosen is not None else {})}
        try:
            await self.client.quote(int(state["product_id"]), trial)
        except CommerceUnavailable:
            dispatcher.utter_message(text=UNAVAILABLE)
            return {"option_answer": None}
        except CommerceError as exc:
            mine = [v for v in exc.details or [] if isinstance(v, dict)
                    and v.get("option") in {name, "*"}]
            if exc.code != "invalid_customization" or not isinstance(exc.details, list):
                dispatcher.utter_message(text=explain(exc))
                return {"option_answer": None}
            if mine:
                reasons = " ".join(str(v["message"]) for v in mine)
                dispatcher.utter_message(text=f"Sorry, that won't work: {reasons}")
                return {"option_answer": None}
        state["choices"] = trial
        state["answered"] = [*state.get("answered", []), name]
        return {"option_answer": None, "customization": state}


class ActionQuoteCustomization(CommerceAction):
    """Quote the personalised piece and ask whether to add it to the cart."""

    def name(self) -> str:
        return "action_quote_customization"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        state = tracker.get_slot("customization")
        if not state or not state.get("product_id"):
            return []
        quote = await self.client.quote(int(state["product_id"]), state.get("choices", {}))
        name = f"{state['name']} (size {state['size']})" if state.get("size") else state["name"]
        dispatcher.utter_message(
            text=f"{describe_quote(quote, name)} Shall I add it to your cart?",
            buttons=[{"title": "Yes, add it", "payload": "/affirm"},
                     {"title": "No thanks", "payload": "/deny"}])
        return [SlotSet("product_id", state["product_id"])]
