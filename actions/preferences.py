"""The preferences form: ask only for what a search request is missing.

A request that names a piece ("blue ceramic mugs"), or what some pieces show as their
names say it ("anything with birds on it"), is searched at once. A vague one ("a gift for
my sister") gets the questions it lacks: what kind of piece, budget, who it is
for (or the occasion), and colour or style. Every question can be skipped; a skipped
preference holds ``SKIP`` so it is not asked again.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import read_ahead
from actions.budget import Budget, parse_budget
from actions.clients import (
    CommerceClient,
    CommerceError,
    CommerceUnavailable,
    Interpretation,
    SearchPage,
    SearchQuery,
)
from actions.common import SKIP, chosen_button, in_turn, is_skip, latest_entities
from actions.config import get_settings
from actions.discovery import PREFERENCE_WORDS, SLOT_OF, query_of

log = logging.getLogger(__name__)
QUESTIONS = ("product_type", "budget", "recipient", "colour")
PREFERENCE_SLOTS = ("product_type", "category", "colour", "material", "style", "occasion",
                    "recipient", "budget")
MAX_ANSWER_CHARS = 80
MAX_SEARCH_CHARS = 500
"""As the interpret call: the shop reads at most this much of a message."""
_GIFT_WORDS = re.compile(r"\b(?:gift|present|for (?:my|a|her|him|them)|birthday)\b", re.I)
_BARE_AMOUNT = re.compile(r"^\D{0,12}?(\d{1,6}(?:[.,]\d{1,2})?)\s*(?:€|eur|euros?)?\s*$", re.I)
_PERSONALISED = re.compile(
    r"\b(?:personali[sz]\w*|engrav\w*|initials?|monogram\w*|embroider\w*|"
    r"(?:his|her|their|a|my|our) names?\b.{0,20}\bon\b)", re.I)
_CHEAPER = re.compile(r"\bcheap(?:er|est)\b", re.I)
"""Where the budget is asked, "anything cheaper?" means cheap: nothing is shown yet."""
_RECIPIENT_TEXT = re.compile(r"^(?:it'?s |it is )?(?:for )?(.+?)[.!]?$", re.I)
_SHOW_NOW = re.compile(r"""
    ^\s* (?:(?:ok|okay|just|please|can\ you|could\ you|now)\s+)*
    (?: show\ me (?:\s+(?: more | some(?:thing)? | anything | everything | (?:the\ )?results
                        | (?:some\ )?options | them
                        | what\ (?:you(?:'ve|\ have)?\ got | you\ have | there\ is)))?
      | let'?s\ see (?:\s+(?: them | some | what\ you\ have))?
      | (?:just\ )?search | go\ ahead
      | skip\ (?:the|these|all(?:\ the)?)\ questions )
    (?:\s*,?\s*(?:please|now))? \s*[.!?]*\s*$""", re.IGNORECASE | re.VERBOSE)
"""An answer that asks for the results instead ("just show me", "show me what you've got")."""


def shows_now(tracker: Tracker) -> bool:
    """Whether the latest message asks for the results rather than answering ("just show
    me", "show me more", "let's see what you have")."""
    return bool(_SHOW_NOW.match(str(tracker.latest_message.get("text") or "")))


def budget_slot(text: str) -> str | None:
    """A budget phrase → the canonical slot value ("up to 60 EUR", ``SKIP``), or None."""
    if is_skip(text):
        return SKIP
    budget = parse_budget(text)
    if budget == Budget():
        bare = _BARE_AMOUNT.match(text.strip())
        if not bare:
            return None
        budget = parse_budget(f"under {bare.group(1)}")
    return budget.describe()


_AMOUNT_WORDS = re.compile(r"\b(?:around|about|roughly|approx\w*|max\w*|up to|maybe|"
                           r"say|like)\b", re.I)


def _budget_said(answer: str) -> str | None:
    """A budget given in the answer to another question ("blue, under 30", "dunno, 40?"),
    as the slot says it; None when it names no amount."""
    if answer.startswith("/"):
        return None
    budget = parse_budget(answer)
    if budget == Budget():
        bare = re.search(r"(?:^|[\s,;])(\d{1,6}(?:[.,]\d{1,2})?)\s*(?:€|eur|euros?)?[\s?!.]*$",
                         answer, re.I)
        rest = _AMOUNT_WORDS.sub(" ", answer[:bare.start()]).strip(" ,;.?!") if bare else ""
        if not bare or (rest and not is_skip(rest)):  # "ring size 7" names no budget
            return None
        budget = parse_budget(f"under {bare.group(1)}")
    return budget.describe() if budget != Budget() else None


def questions_for(*, text: str, slots: dict[str, Any], taste: bool = False,
                  subject: bool = False) -> list[str]:
    """The questions a new request needs, in the order they are asked. ``taste``: the
    request names some other catalog value (a scent, a pattern) that says what they like;
    ``subject``: it names what some pieces show or are, in their names' words ("anything
    with birds on it"), so it says what to look for without a kind of piece (and, like a
    taste, what they like)."""
    what_missing = not (slots.get("product_type") or slots.get("category") or subject)
    gift = bool(slots.get("recipient") or slots.get("occasion") or _GIFT_WORDS.search(text))
    if not what_missing and not gift:
        return []
    wanted = []
    if what_missing:
        wanted.append("product_type")
    if not slots.get("budget"):
        wanted.append("budget")
    if not slots.get("recipient") and not slots.get("occasion"):
        wanted.append("recipient")
    if not (taste or subject) and not any(slots.get(k) for k in ("colour", "style",
                                                                  "material")):
        wanted.append("colour")
    return wanted


async def read(client: CommerceClient, text: str, tracker: Tracker) -> Interpretation | None:
    """``text`` read against the live catalog, or None (and the NLU's entities are used)
    when the shop cannot be asked."""
    if not text or text.startswith("/"):
        return None
    try:
        return await client.interpret(text)
    except CommerceError as exc:
        _unread(text, tracker, exc)
        return None


def _unread(text: str, tracker: Tracker, exc: CommerceError) -> None:
    log.warning("preferences: the shop could not read %r: %s", text[:80], exc.message,
                extra={"conversation_id": tracker.sender_id})


def searched_ahead(text: str, entities: dict[str, str]) -> SearchQuery | None:
    """The search to make instead of only reading ``text``, when it likely is the search
    the search action makes next (:mod:`actions.read_ahead`): the NLU found a kind of
    piece, no budget and no gift (the preferences form would ask or add them) and every
    preference it found is in the words as written (the search adds the preferences read
    that are not: "scarves" read as "scarf" would be another search, and a second query
    embedding). Its page also says how the shop read the words."""
    lowered = text.lower()
    if not text or text.startswith("/") or _GIFT_WORDS.search(text) or not (
            entities.get("product_type") or entities.get("category")) or any(
            entities.get(name) for name in ("budget", "recipient", "occasion")) or any(
            entities[name] not in lowered for name in PREFERENCE_WORDS if entities.get(name)):
        return None
    return SearchQuery(text=text[:MAX_SEARCH_CHARS], limit=get_settings().search_page_size,
                       interpret=True)


async def read_searching(client: CommerceClient, text: str, ahead: SearchQuery | None,
                         tracker: Tracker) -> tuple[Interpretation | None, SearchPage | None]:
    """:func:`read`, in the same call as the search ``ahead`` when one is asked for: the
    reading and that page (a page found empty is not kept as a gap of the catalog: the
    search action searches again and keeps it). The shop out of reach is asked once."""
    if ahead is not None:
        try:
            page = await client.search_page(ahead, record_gap=False)
        except CommerceUnavailable as exc:
            _unread(text, tracker, exc)
            return None, None
        except CommerceError:
            page = None  # read only, as without the search
        if page is not None and page.interpretation is not None:
            return page.interpretation, page
    return await read(client, text, tracker), None


def catalog_slots(reading: Interpretation) -> dict[str, str]:
    """The preference slots the catalog's reading fills."""
    out = {slot: value for name, slot in SLOT_OF.items()
           if (value := reading.said(name)) is not None}
    if reading.min_price is not None or reading.max_price is not None:
        out["budget"] = Budget(reading.min_price, reading.max_price).describe(reading.currency)
    return out


class ActionResetPreferences(Action):
    """Start a new search: forget the last search's preferences, keep what this message
    says — as the live catalog reads it, so a product type imported a minute ago counts —
    and decide which questions the preferences form will ask."""

    def __init__(self, client: CommerceClient | None = None) -> None:
        self.client = client or CommerceClient()

    def name(self) -> str:
        return "action_reset_preferences"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        entities = latest_entities(tracker)
        text = tracker.latest_message.get("text") or ""
        ahead = searched_ahead(text, entities)
        reading, page = await read_searching(self.client, text, ahead, tracker)
        if reading is not None:  # the catalog decides; the NLU adds who it is for
            slots: dict[str, Any] = {name: None for name in PREFERENCE_SLOTS}
            slots.update(catalog_slots(reading))
            for name in ("recipient", "occasion"):
                slots[name] = slots.get(name) or entities.get(name)
        else:
            slots = {name: entities.get(name) for name in PREFERENCE_SLOTS}
            budget = budget_slot(entities.get("budget") or "") if entities.get(
                "budget") else None
            if budget is None and not text.startswith("/"):
                found = parse_budget(text)
                budget = found.describe() if found != Budget() else None
            slots["budget"] = budget
        if slots["budget"] is None and re.search(r"\bno budget\b|\bany (?:budget|price)\b",
                                                 text, re.I):
            slots["budget"] = SKIP
        search_text = "" if text.startswith("/") else text[:300]
        named = reading is not None and reading.product is not None
        taste = reading is not None and any(
            u.name not in SLOT_OF and u.name != "price" for u in reading.understood)
        subject = reading is not None and bool(reading.subject)
        questions = [] if named else questions_for(text=search_text, slots=slots,
                                                   taste=taste, subject=subject)
        if page is not None and page.results and ahead is not None and not questions and \
                query_of({**slots, "search_text": search_text}.get) == ahead:
            read_ahead.PAGES.keep(tracker.sender_id, ahead, page)  # the search shows it
        return [*(SlotSet(name, value) for name, value in slots.items()),
                SlotSet("search_text", search_text),
                SlotSet("preference_questions", questions),
                SlotSet("needs_preferences", bool(questions))]


def _for(recipient: str) -> str:
    """"for your dad" (the NLU's "dad"), "for my dad" (the shopper's words)."""
    mine = re.match(r"(?:my|our|a|an|the|his|her|their|me)\b", recipient, re.I)
    return f"for {recipient}" if mine else f"for your {recipient}"


TASTE = ("colour", "style", "material")
"""The preferences the colour-or-style question asks for."""


class ValidatePreferencesForm(FormValidationAction):
    """Answers are read against the live catalog first ("a walnut board" names a type the
    model was never trained on); the NLU's entities are used when the shop cannot read."""

    run = in_turn(FormValidationAction.run)

    def __init__(self, client: CommerceClient | None = None) -> None:
        self.client = client or CommerceClient()

    def name(self) -> str:
        return "validate_preferences_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        if tracker.get_slot("requested_slot") and shows_now(tracker):
            return []  # "just show me": no more questions, the search runs
        asked = tracker.get_slot("preference_questions") or []
        return [slot for slot in QUESTIONS if slot in asked]

    @staticmethod
    def _answer(tracker: Tracker, value: Any) -> str:
        """What the shopper answered: the typed text, the payload of the button pressed,
        or of the one the text picks by its place ("the third one")."""
        text = tracker.latest_message.get("text") or ""
        if (button := chosen_button(tracker)) is not None:
            return button.strip()
        return (text if not text.startswith("/") else str(value or "")).strip()

    def _add_words(self, tracker: Tracker, words: str) -> dict[str, Any]:
        if shows_now(tracker):
            return {}  # "show me more" says nothing of what to show
        current = tracker.get_slot("search_text") or ""
        return {"search_text": f"{current} {words[:MAX_ANSWER_CHARS]}".strip()}

    async def validate_product_type(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: dict[str, Any]
                                    ) -> dict[str, Any]:
        answer = self._answer(tracker, value)
        budget = {"budget": said} if (said := _budget_said(answer)) else {}
        if is_skip(answer):
            return {"product_type": SKIP, **budget}
        if not answer or len(answer) > MAX_ANSWER_CHARS:
            dispatcher.utter_message(response="utter_ask_product_type")
            return {"product_type": None}
        reading = await read(self.client, answer, tracker)
        found = catalog_slots(reading) if reading else {
            k: v for k, v in latest_entities(tracker).items() if k in SLOT_OF.values()}
        words = {**self._add_words(tracker, answer), **budget}
        if found.get("product_type"):
            return {"product_type": found["product_type"], **words}
        if found.get("category"):
            return {"product_type": SKIP, "category": found["category"], **words}
        return {"product_type": SKIP, **words}

    async def validate_budget(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIP:
            return {"budget": SKIP}
        answer = self._answer(tracker, value)
        for candidate in (latest_entities(tracker).get("budget"), answer, str(value or "")):
            described = budget_slot(candidate) if candidate else None
            if described:
                return {"budget": described}
        reading = await read(self.client, _CHEAPER.sub("cheap", answer), tracker) \
            if len(answer) <= MAX_ANSWER_CHARS else None
        noted = {k: v for k, v in (catalog_slots(reading) if reading else {}).items()
                 if k in TASTE}
        if reading is not None and (reading.min_price, reading.max_price) != (None, None):
            # "something cheap": the shop's own reading of it for its prices
            budget = Budget(reading.min_price, reading.max_price).describe(reading.currency)
            return {"budget": budget, **noted}
        entities = latest_entities(tracker)
        if entities.get("recipient"):
            noted["recipient"] = entities["recipient"]
        if occasion := (reading.said("occasion") if reading else None) or entities.get(
                "occasion"):
            noted["occasion"] = occasion
        if noted:  # "brown", "for my dad" where the budget is asked: kept, budget asked again
            said = [v for k, v in noted.items() if k in TASTE]
            if "recipient" in noted:
                said.append(_for(noted["recipient"]) + (
                    f"'s {noted['occasion']}" if "occasion" in noted else ""))
            elif "occasion" in noted:
                said.append(noted["occasion"])
            dispatcher.utter_message(response="utter_noted_preference", noted=", ".join(said))
            return {"budget": None, **noted}
        if (wish := self._personalised(dispatcher, tracker, answer)) is not None:
            return {"budget": None, **wish}  # and the budget is asked again
        dispatcher.utter_message(response="utter_budget_not_understood")
        return {"budget": None}

    def _personalised(self, dispatcher: CollectingDispatcher, tracker: Tracker, answer: str
                      ) -> dict[str, Any] | None:
        """A wish to have the piece personalised, said where another question is asked
        ("can you put his initials on it?"): noted, and put in the search's words so that
        pieces made to be personalised come first; None for any other answer."""
        intent = tracker.latest_message.get("intent") or {}
        if not _PERSONALISED.search(answer) and not (
                intent.get("name") == "customize_product"
                and float(intent.get("confidence") or 0) >= 0.5):
            return None
        dispatcher.utter_message(response="utter_noted_personalised")
        current = tracker.get_slot("search_text") or ""
        if "personalised" in current:
            return {}
        return {"search_text": f"{current} personalised".strip()}

    async def validate_recipient(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        entities = latest_entities(tracker)
        if entities.get("recipient"):
            return {"recipient": entities["recipient"]}
        answer = self._answer(tracker, value)
        reading = await read(self.client, answer, tracker) if answer else None
        occasion = (reading.said("occasion") if reading else None) or entities.get("occasion")
        if occasion:
            return {"recipient": SKIP, "occasion": occasion}
        if is_skip(answer):
            return {"recipient": SKIP}
        if (wish := self._personalised(dispatcher, tracker, answer)) is not None:
            return {"recipient": None, **wish}  # and who it is for is asked again
        match = _RECIPIENT_TEXT.match(answer)
        if not match or len(answer) > MAX_ANSWER_CHARS:
            dispatcher.utter_message(response="utter_ask_recipient")
            return {"recipient": None}
        return {"recipient": match.group(1).lower()}

    async def validate_colour(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        answer = self._answer(tracker, value)
        budget = _budget_said(answer)  # "dunno, 40?": the amount is not lost
        if (is_skip(answer) and not budget) or not answer:
            return {"colour": SKIP}
        if len(answer) > MAX_ANSWER_CHARS:
            dispatcher.utter_message(response="utter_ask_colour")
            return {"colour": None}
        reading = await read(self.client, answer, tracker)
        found = {k: v for k, v in (catalog_slots(reading) if reading
                                   else latest_entities(tracker)).items() if k in TASTE}
        if budget:
            found["budget"] = budget
        other = reading is not None and any(u.name not in SLOT_OF and u.name != "price"
                                            for u in reading.understood)
        if found and not other:
            return {"colour": SKIP, **found}
        return {"colour": SKIP, **found, **self._add_words(tracker, answer)}
