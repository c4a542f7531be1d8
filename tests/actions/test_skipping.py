""""Skip" in a form skips the question asked; anything else that reads as stop leaves."""

import asyncio
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SKIP
from actions.skipping import ActionSkipQuestion, asks_to_skip
from tests.actions.shopping_helpers import tracker


def skip(text: str, slots: dict[str, Any], loop: str) -> list[Any]:
    t = tracker(text, "stop", slots=slots, active_loop=loop)
    return asyncio.run(ActionSkipQuestion().run(CollectingDispatcher(), t, {}))


@pytest.mark.parametrize("text", ["skip", "Skip", "skip this one", "pass", "next question",
                                  "skip it please"])
def test_skip_words_skip(text: str) -> None:
    assert asks_to_skip(text)


@pytest.mark.parametrize("text", ["stop", "cancel", "skip all that", "forget it", ""])
def test_other_stop_words_do_not(text: str) -> None:
    assert not asks_to_skip(text)


def test_skip_answers_the_preference_asked_and_the_form_goes_on() -> None:
    events = skip("skip", {"requested_slot": "recipient"}, "preferences_form")
    assert events == [SlotSet("recipient", SKIP), SlotSet("question_skipped", True)]
    assert skip("stop", {"requested_slot": "recipient"}, "preferences_form") == [
        SlotSet("question_skipped", False)]


def test_skip_passes_an_optional_personalisation_but_not_a_required_one() -> None:
    options = [{"name": "size", "kind": "size", "required": True, "values": ["n"]},
               {"name": "engraving", "kind": "text", "required": False}]
    state = {"product_id": "1", "options": options, "choices": {}, "answered": ["size"]}
    events = skip("skip", {"customization": state}, "customization_form")
    assert events == [SlotSet("customization", {**state, "answered": ["size", "engraving"]}),
                      SlotSet("question_skipped", True)]
    required = {**state, "answered": []}
    assert skip("skip", {"customization": required}, "customization_form") == [
        SlotSet("question_skipped", False)]
