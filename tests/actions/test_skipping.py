""""Skip" in a form skips the question asked; anything else that reads as stop leaves."""

import asyncio
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SKIP
from actions.customization import (
    ActionStartCustomization,
    ValidateCustomizationForm,
    current_option,
)
from actions.preferences import ValidatePreferencesForm
from actions.skipping import ActionSkipQuestion, asks_to_skip
from tests.actions.responses import said
from tests.actions.shopping_helpers import (
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
)
from tests.actions.wording import UNAVAILABLE


def skip(shop: Shop | None, text: str, slots: dict[str, Any], loop: str) -> list[Any]:
    t = tracker(text, "stop", slots=slots, active_loop=loop)
    action = ActionSkipQuestion(shop.client() if shop else None)
    return asyncio.run(action.run(CollectingDispatcher(), t, {}))


@pytest.mark.parametrize("text", ["skip", "Skip", "skip this one", "pass", "next question",
                                  "skip it please"])
def test_skip_words_skip(text: str) -> None:
    assert asks_to_skip(text)


@pytest.mark.parametrize("text", ["stop", "cancel", "skip all that", "forget it", ""])
def test_other_stop_words_do_not(text: str) -> None:
    assert not asks_to_skip(text)


def test_skip_answers_the_preference_asked_and_the_form_goes_on() -> None:
    events = skip(None, "skip", {"requested_slot": "recipient"}, "preferences_form")
    assert events == [SlotSet("recipient", SKIP), SlotSet("question_skipped", True)]
    assert skip(None, "stop", {"requested_slot": "recipient"}, "preferences_form") == [
        SlotSet("question_skipped", False)]


@pytest.mark.parametrize("text", ["just show me", "skip the questions", "show me what you've got",
                                  "ok show me some options"])
def test_just_show_me_skips_every_question_left_of_the_preferences(text: str) -> None:
    slots = {"requested_slot": "budget", "product_type": "mug",
             "preference_questions": ["product_type", "budget", "recipient", "colour"]}
    assert skip(None, text, slots, "preferences_form") == [
        SlotSet("budget", SKIP), SlotSet("recipient", SKIP), SlotSet("colour", SKIP),
        SlotSet("question_skipped", True)]
    # a request of its own is no such answer; nor is the same words outside the form
    assert skip(None, "show me candles", slots, "preferences_form") == [
        SlotSet("question_skipped", False)]
    assert skip(None, text, slots, "customization_form") == [
        SlotSet("question_skipped", False)]


def test_show_me_more_read_as_an_answer_ends_the_questions() -> None:
    form = ValidatePreferencesForm()
    asked = {"preference_questions": ["product_type", "budget", "colour"],
             "requested_slot": "product_type", "search_text": "a present for my mum"}
    for text, left in (("show me more", []), ("mugs", ["product_type", "budget", "colour"])):
        t = tracker(text, "refine_search", slots=asked, active_loop="preferences_form")
        assert asyncio.run(form.required_slots([], CollectingDispatcher(), t, {})) == left
    # the words say nothing of what to show: the search text is left as it was
    t = tracker("show me more", "refine_search", slots=asked, active_loop="preferences_form")
    assert form._add_words(t, "show me more") == {}


def test_skip_passes_an_optional_personalisation_but_not_a_required_one(shop: Shop) -> None:
    # given a ring whose size (required) was given: the engraving (optional) is asked
    ring = shop.sku_id("JWL-RNG-001")
    _, events = run(ActionStartCustomization(shop.client()), tracker(
        "/customize_product", "customize_product", [entity("product_id", str(ring))]))
    at_size = slots_of(events)["customization"]
    slots = asyncio.run(ValidateCustomizationForm(shop.client()).validate_option_answer(
        "n", CollectingDispatcher(), tracker(
            "size n", "inform", slots={"customization": at_size},
            active_loop="customization_form"), {}))
    state = slots["customization"]
    assert current_option(state)["name"] == "engraving"
    # when the shopper skips it
    events = skip(shop, "skip", {"customization": state}, "customization_form")
    # then it is answered unchosen and the commerce core names the next question
    assert events[-1] == SlotSet("question_skipped", True)
    skipped = slots_of(events)["customization"]
    assert skipped["answered"] == [*state["answered"], "engraving"]
    assert skipped["choices"] == {} and current_option(skipped)["name"] == "gift_box"
    # and the size cannot be skipped
    assert skip(shop, "skip", {"customization": at_size}, "customization_form") == [
        SlotSet("question_skipped", False)]


def test_skip_while_the_shop_is_unreachable_says_so_and_skips_nothing(shop: Shop) -> None:
    state = {"product_id": str(shop.sku_id("CER-MUG-001")), "choices": {}, "answered": [],
             "next": {"name": "glaze", "kind": "choice", "required": False,
                      "prompt": "Glaze colour: which would you like?", "values": ["black"]}}
    t = tracker("skip", "stop", slots={"customization": state},
                active_loop="customization_form")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionSkipQuestion(unreachable_client()).run(dispatcher, t, {}))
    assert [m["text"] for m in said(dispatcher.messages)] == [UNAVAILABLE]
    assert events == [SlotSet("question_skipped", False)]
