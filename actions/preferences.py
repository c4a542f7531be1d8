"""The preferences form: ask only for what a search request is missing.

A request that names a piece ("blue ceramic mugs") is searched at once. A vague one ("a
gift for my sister") gets the questions it lacks: what kind of piece, budget, who it is
for (or the occasion), and colour or style. Every question can be skipped; a skipped
preference holds ``SKIP`` so it is not asked again.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.budget import Budget, parse_budget
from actions.common import SKIP, is_skip, latest_entities

QUESTIONS = ("product_type", "budget", "recipient", "colour")
PREFERENCE_SLOTS = ("product_type", "category", "colour", "material", "style", "occasion",
                    "recipient", "budget")
MAX_ANSWER_CHARS = 80
_GIFT_WORDS = re.compile(r"\b(?:gift|present|for (?:my|a|her|him|them)|birthday)\b", re.I)
_BARE_AMOUNT = re.compile(r"^\D{0,12}?(\d{1,6}(?:[.,]\d{1,2})?)\s*(?:€|eur|euros?)?\s*$", re.I)
_RECIPIENT_TEXT = re.compile(r"^(?:it'?s |it is )?(?:for )?(.+?)[.!]?$", re.I)


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


def questions_for(*, text: str, slots: dict[str, Any]) -> list[str]:
    """The questions a new request needs, in the order they are asked."""
    what_missing = not slots.get("product_type") and not slots.get("category")
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
    if not any(slots.get(k) for k in ("colour", "style", "material")):
        wanted.append("colour")
    return wanted


class ActionResetPreferences(Action):
    """Start a new search: forget the last search's preferences, keep what this message
    says, and decide which questions the preferences form will ask."""

    def name(self) -> str:
        return "action_reset_preferences"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        entities = latest_entities(tracker)
        text = tracker.latest_message.get("text") or ""
        slots: dict[str, Any] = {name: entities.get(name) for name in PREFERENCE_SLOTS}
        budget = budget_slot(entities.get("budget") or "") if entities.get("budget") else None
        if budget is None and not text.startswith("/"):
            found = parse_budget(text)
            budget = found.describe() if found != Budget() else None
        if budget is None and re.search(r"\bno budget\b|\bany (?:budget|price)\b", text, re.I):
            budget = SKIP
        slots["budget"] = budget
        search_text = "" if text.startswith("/") else text[:300]
        questions = questions_for(text=search_text, slots=slots)
        return [*(SlotSet(name, value) for name, value in slots.items()),
                SlotSet("search_text", search_text),
                SlotSet("preference_questions", questions),
                SlotSet("needs_preferences", bool(questions))]


class ValidatePreferencesForm(FormValidationAction):
    def name(self) -> str:
        return "validate_preferences_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: dict[str, Any]) -> list[str]:
        asked = tracker.get_slot("preference_questions") or []
        return [slot for slot in QUESTIONS if slot in asked]

    @staticmethod
    def _answer(tracker: Tracker, value: Any) -> str:
        text = tracker.latest_message.get("text") or ""
        return (text if not text.startswith("/") else str(value or "")).strip()

    def _add_words(self, tracker: Tracker, words: str) -> dict[str, Any]:
        current = tracker.get_slot("search_text") or ""
        return {"search_text": f"{current} {words[:MAX_ANSWER_CHARS]}".strip()}

    def validate_product_type(self, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        entities = latest_entities(tracker)
        if entities.get("product_type"):
            return {"product_type": entities["product_type"]}
        if entities.get("category"):
            return {"product_type": SKIP, "category": entities["category"]}
        answer = self._answer(tracker, value)
        if is_skip(answer):
            return {"product_type": SKIP}
        if not answer or len(answer) > MAX_ANSWER_CHARS:
            dispatcher.utter_message(response="utter_ask_product_type")
            return {"product_type": None}
        return {"product_type": SKIP, **self._add_words(tracker, answer)}

    def validate_budget(self, value: Any, dispatcher: CollectingDispatcher,
                        tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        if value == SKIP:
            return {"budget": SKIP}
        for candidate in (latest_entities(tracker).get("budget"), self._answer(tracker, value),
                          str(value or "")):
            described = budget_slot(candidate) if candidate else None
            if described:
                return {"budget": described}
        dispatcher.utter_message(response="utter_budget_not_understood")
        return {"budget": None}

    def validate_recipient(self, value: Any, dispatcher: CollectingDispatcher,
                           tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        entities = latest_entities(tracker)
        if entities.get("recipient"):
            return {"recipient": entities["recipient"]}
        if entities.get("occasion"):
            return {"recipient": SKIP, "occasion": entities["occasion"]}
        answer = self._answer(tracker, value)
        if is_skip(answer):
            return {"recipient": SKIP}
        match = _RECIPIENT_TEXT.match(answer)
        if not match or len(answer) > MAX_ANSWER_CHARS:
            dispatcher.utter_message(response="utter_ask_recipient")
            return {"recipient": None}
        return {"recipient": match.group(1).lower()}

    def validate_colour(self, value: Any, dispatcher: CollectingDispatcher,
                        tracker: Tracker, domain: dict[str, Any]) -> dict[str, Any]:
        entities = latest_entities(tracker)
        found = {k: entities[k] for k in ("colour", "style", "material") if entities.get(k)}
        if found:
            return {"colour": SKIP, **found}
        answer = self._answer(tracker, value)
        if is_skip(answer) or not answer:
            return {"colour": SKIP}
        if len(answer) > MAX_ANSWER_CHARS:
            dispatcher.utter_message(response="utter_ask_colour")
            return {"colour": None}
        return {"colour": SKIP, **self._add_words(tracker, answer)}
