"""Customisation: a form driven by the product's rules in the commerce core.

``action_start_customization`` starts the slot ``customization`` ({"product_id", "name",
"choices", "answered", "next"}). The form asks one option at a time through the slot
``option_answer``: the commerce core says which option comes next (``next``, with its
question and allowed values) and checks each answer; a refusal is told in the rule's own
words. A product made in sizes is asked its size first, which picks the variant. At the
end ``action_quote_customization`` quotes price and ready-by date.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CommerceClient, CommerceError, Product, Quote
from actions.common import CommerceAction, explain, in_turn, is_skip, mentioned_product
from actions.common import money as fmt_money
from actions.faq_routing import FaqCheckingAction
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
_YES_OR_NO = re.compile(rf"{_YES.pattern}|^\s*(?:no|nope|nah)\b", re.I)
COMMANDS = frozenset({"add_to_cart", "checkout", "view_cart", "remove_from_cart"})
COMMAND_CONFIDENCE = 0.9
"""An answer the NLU is this sure is one of the ``COMMANDS`` ("add to basket", "checkout")
is not taken as the words to print ("Best dad ever" or "Forever yours" are never near it,
and the shopper can still quote the words to have them), nor as the answer to a yes-or-no
option."""
FINISHING = frozenset({"add_to_cart", "checkout"})
"""The ``COMMANDS`` that ask for the piece as chosen so far: the options left are left out."""
_AS_IT_IS = re.compile(
    r"\b(?:just|only)\s+(?:add|put|buy|order|get|check\s*out)\b|"
    r"\b(?:that'?s|thats)\s+(?:all|it|everything|enough)\b|\bnothing (?:else|more)\b|"
    r"\bno more (?:options|questions|extras|changes)\b|\bas it is\b", re.I)
AS_CHOSEN = "as_chosen"
"""Key of the customisation state set once the shopper asked for the piece as chosen: an
optional option that follows a required one still asked is left out too."""
MAX_OPTIONS = 50
"""A bound on the options one product's rules may ask (a guard against a loop)."""


def command_not_words(tracker: Tracker) -> str | None:
    """The latest message when it reads as a command, not as the words a text option asks
    for (see ``COMMANDS``); None when it may be the words."""
    message = tracker.latest_message
    text = str(message.get("text") or "").strip()
    intent = message.get("intent") or {}
    if text.startswith("/") or _QUOTED.search(text) or any(
            e.get("entity") == "engraving_text" for e in message.get("entities", [])):
        return None
    sure = float(intent.get("confidence") or 0.0) >= COMMAND_CONFIDENCE
    return text if intent.get("name") in COMMANDS and sure else None


def wants_it_now(tracker: Tracker) -> bool:
    """Whether the latest message asks for the piece as chosen so far: "just add it",
    "that's all", or what the NLU is sure is adding it or checking out (``FINISHING``)."""
    message = tracker.latest_message
    text = str(message.get("text") or "").strip()
    if text.startswith("/"):
        return False
    intent = message.get("intent") or {}
    sure = float(intent.get("confidence") or 0.0) >= COMMAND_CONFIDENCE
    unquoted = _QUOTED.sub(" ", text)
    return bool(_AS_IT_IS.search(unquoted)) or (
        intent.get("name") in FINISHING and sure and not _QUOTED.search(text))


def answered_too(spec: dict[str, Any], tracker: Tracker) -> Any:
    """What a message that asks for the piece now also answers for the option being asked
    ("yes, and add it", "sage green, that's all", '"Best mum", just add it'): None when
    it leaves it out."""
    text = str(tracker.latest_message.get("text") or "")
    if spec["kind"] == "boolean":
        return True if _YES.match(text) else None
    if spec["kind"] == "choice":
        value = _choice_value(spec, text)
        return value if value in {str(v) for v in spec.get("values", [])} else None
    return printed_words(tracker, text)


def printed_words(tracker: Tracker, text: str) -> str | None:
    """The words to print the message gives as such: the NLU's ``engraving_text``, else
    words in quotes in ``text``; None when it gives neither."""
    engraving = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                      if e.get("entity") == "engraving_text"), None)
    if engraving:
        return str(engraving).strip()
    quoted = _QUOTED.search(text)
    return quoted.group(1).strip() if quoted else None


def current_option(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The option being asked, or None when every applicable one is answered."""
    return (state or {}).get("next")


async def advance(client: CommerceClient, state: dict[str, Any], *,
                  choices: dict[str, Any], answered: list[str]
                  ) -> tuple[dict[str, Any], list[str]]:
    """``state`` with ``choices``, ``answered`` and the option the commerce core says
    comes next, and the reasons it gives for refusing the option being answered (its
    problems with options not asked yet are for later).

    Raises:
        CommerceError: the commerce core refused (or could not be reached).
    """
    spec = current_option(state)
    variant = state.get("variant_id")
    step = await client.next_option(int(state["product_id"]), choices, asked=answered,
                                    variant_id=int(variant) if variant else None)
    answering = {spec["name"], "*"} if spec else {"*"}
    refused = [p.message for p in step.problems if p.option in answering]
    following = None if step.option is None else step.option.model_dump(mode="json")
    return {**state, "choices": choices, "answered": answered, "next": following}, refused


def ask_option(dispatcher: CollectingDispatcher, spec: dict[str, Any]) -> None:
    """The question for one option, as the shop words it, with its buttons."""
    skip = [] if spec.get("required") else [{"title": "No thanks", "payload": "/deny"}]
    if spec["kind"] == "boolean":
        buttons = [{"title": "Yes please", "payload": "/affirm"}, *skip]
    elif spec["kind"] == "choice":
        buttons = [*({"title": v, "payload": v} for v in spec["values"]), *skip]
    else:
        buttons = skip
    skippable = spec["kind"] not in {"boolean", "choice"} and not spec.get("required")
    dispatcher.utter_message(
        response="utter_option_question_skippable" if skippable else "utter_option_question",
        question=spec["prompt"], buttons=buttons)


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
    words = printed_words(tracker, text)
    return text.strip() if words is None else words


def quoted_choices(quote: Quote) -> str:
    """The options chosen, with what each adds to the price."""
    return "; ".join(
        f"{line.label.lower()}: {('yes' if line.value is True else line.value)}"
        + (f" (+{fmt_money(line.price_delta, quote.currency)})" if line.price_delta else "")
        for line in quote.lines)


class ActionStartCustomization(FaqCheckingAction):
    """Find the product to personalise and load its options from the commerce core. A
    question about personalising no product in particular ("can i pick my own glaze?") is
    answered from the merchant's FAQ when it covers it."""

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
            answered = await self.answered_by_faq(dispatcher, tracker)
            if answered is not None:
                return [*answered, SlotSet("can_customize", False)]
            dispatcher.utter_message(response="utter_which_product_to_customize")
            return [SlotSet("can_customize", False)]
        product = await self.client.product(int(product_id))
        state: dict[str, Any] = {"product_id": str(product.id), "name": product.name,
                                 "choices": {}, "answered": [], "next": None}
        if has_sizes(product):  # the size first: it says which variant is personalised
            state["next"] = size_spec(product)
        elif product.customization:
            state, _ = await advance(self.client, state, choices={}, answered=[])
        events: list[EventType] = [SlotSet("product_id", str(product.id)),
                                   SlotSet("customization", state),
                                   SlotSet("option_answer", None)]
        if not product.customization and not has_sizes(product):
            dispatcher.utter_message(
                response="utter_no_personalisation", name=product.name,
                buttons=[{"title": "Add to cart",
                          "payload": f'/add_to_cart{{"product_id": "{product.id}"}}'}])
            return [*events, SlotSet("can_customize", False)]
        dispatcher.utter_message(response="utter_start_personalising", name=product.name)
        return [*events, SlotSet("can_customize", True)]


def size_spec(product: Product) -> dict[str, Any]:
    """The size question of a product whose variants come in sizes: its answer picks the
    variant, so an option that would resize to that size (one of its values) is not
    asked."""
    sizes = sizes_of(product, in_stock=True)
    return {"name": SIZE, "kind": SIZE, "required": True, "values": sizes,
            "variants": {s.casefold(): v.id for s in sizes
                         if (v := variant_of(product, s)) is not None},
            "resizes": {s.casefold(): [o["name"] for o in product.customization
                                       if o.get("kind") == "choice" and s.casefold() in
                                       {str(v).strip().casefold() for v in o["values"]}]
                        for s in sizes}}


async def choose_size(client: CommerceClient, dispatcher: CollectingDispatcher,
                      tracker: Tracker, state: dict[str, Any], spec: dict[str, Any]
                      ) -> dict[str, Any]:
    """The form's slots after an answer to the size question."""
    size = size_answer(tracker)
    variant = spec["variants"].get(size.casefold()) if size else None
    if size is None or variant is None:
        if size and (wanted_size(tracker) or len(size) <= 2):
            dispatcher.utter_message(response="utter_size_not_in_stock", size=label(size),
                                     name=state["name"], sizes=_sizes_text(spec))
        return {"option_answer": None}
    answered = [*state.get("answered", []), SIZE, *spec["resizes"].get(size.casefold(), [])]
    try:
        state, _ = await advance(client, state, choices=state.get("choices", {}),
                                 answered=answered)
    except CommerceError as exc:
        explain(dispatcher, exc)
        return {"option_answer": None}
    return {"option_answer": None,
            "customization": {**state, "variant_id": variant, "size": label(size)}}


async def skip_option(client: CommerceClient, dispatcher: CollectingDispatcher,
                      state: dict[str, Any]) -> dict[str, Any] | None:
    """``state`` once the option being asked is left unchosen, or None when it must be
    answered (or the commerce core cannot say what comes next: told to the shopper)."""
    spec = current_option(state)
    if spec is None or spec.get("required"):
        return None
    try:
        state, _ = await advance(client, state, choices=state.get("choices", {}),
                                 answered=[*state.get("answered", []), spec["name"]])
    except CommerceError as exc:
        explain(dispatcher, exc)
        return None
    return state


async def leave_out_the_rest(client: CommerceClient, dispatcher: CollectingDispatcher,
                             state: dict[str, Any]) -> dict[str, Any] | None:
    """``state`` once every optional option still to ask is left unchosen: none is left,
    or a required one is next. None when the commerce core could not say (told)."""
    for _ in range(MAX_OPTIONS):
        spec = current_option(state)
        if spec is None or spec.get("required"):
            return state
        skipped = await skip_option(client, dispatcher, state)
        if skipped is None:
            return None
        state = skipped
    return state


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
            ask_option(dispatcher, spec)
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
            return await choose_size(self.client, dispatcher, tracker, state, spec)
        if not spec.get("required") and wants_it_now(tracker):
            return await self._as_chosen(dispatcher, state, spec,
                                         answered_too(spec, tracker))
        command = command_not_words(tracker) if spec["kind"] in {"text", "boolean"} else None
        if command is not None and spec["kind"] == "text":  # "add to basket" for an engraving
            dispatcher.utter_message(response="utter_words_or_command", words=command)
            return {"option_answer": None}
        if command is not None and not _YES_OR_NO.match(command):  # "checkout" for a box
            dispatcher.utter_message(response="utter_yes_or_no_first")
            return {"option_answer": None}
        advanced = await self._recorded(dispatcher, state, spec,
                                        answer_value(spec, tracker, value))
        if advanced is not None and state.get(AS_CHOSEN):  # the required one it waited for
            advanced = await leave_out_the_rest(self.client, dispatcher, advanced)
        if advanced is None:
            return {"option_answer": None}
        return {"option_answer": None, "customization": advanced}

    async def _recorded(self, dispatcher: CollectingDispatcher, state: dict[str, Any],
                        spec: dict[str, Any], chosen: Any) -> dict[str, Any] | None:
        """``state`` with ``chosen`` (None: left out) as the answer to the option asked,
        or None when the rules refuse it or the commerce core cannot say (told)."""
        name = spec["name"]
        choices = {k: v for k, v in state.get("choices", {}).items() if k != name}
        trial = {**choices, **({name: chosen} if chosen is not None else {})}
        try:
            advanced, refused = await advance(self.client, state, choices=trial,
                                              answered=[*state.get("answered", []), name])
        except CommerceError as exc:
            explain(dispatcher, exc)
            return None
        if refused:
            dispatcher.utter_message(response="utter_option_refused", reasons=" ".join(refused))
            return None
        return advanced

    async def _as_chosen(self, dispatcher: CollectingDispatcher, state: dict[str, Any],
                         spec: dict[str, Any], chosen: Any) -> dict[str, Any]:
        """The form's slots when the shopper wants the piece now: the option asked takes
        what the message also answered, and every optional one left is left out; a
        required one left is still asked."""
        advanced = await self._recorded(dispatcher, state, spec, chosen)
        finished = None if advanced is None else await leave_out_the_rest(
            self.client, dispatcher, advanced)
        if finished is None:
            return {"option_answer": None}
        if current_option(finished) is not None:
            dispatcher.utter_message(response="utter_option_still_needed")
        return {"option_answer": None, "customization": {**finished, AS_CHOSEN: True}}


class ActionQuoteCustomization(CommerceAction):
    """Quote the personalised piece and ask whether to add it to the cart."""

    def name(self) -> str:
        return "action_quote_customization"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        state = tracker.get_slot("customization")
        if not state or not state.get("product_id"):
            return []
        variant = state.get("variant_id")
        quote = await self.client.quote(int(state["product_id"]), state.get("choices", {}),
                                        variant_id=int(variant) if variant else None)
        name = f"{state['name']} (size {state['size']})" if state.get("size") else state["name"]
        choices = quoted_choices(quote)
        dispatcher.utter_message(
            response="utter_quote_with_choices" if choices else "utter_quote", name=name,
            choices=choices, price=fmt_money(quote.unit_price, quote.currency),
            ready=date.fromisoformat(quote.ready_by).strftime("%A %-d %B %Y"),
            buttons=[{"title": "Yes, add it", "payload": "/affirm"},
                     {"title": "No thanks", "payload": "/deny"}])
        return [SlotSet("product_id", state["product_id"])]
