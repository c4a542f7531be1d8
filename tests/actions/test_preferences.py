"""The preferences form asks only for what a request lacks; every question can be skipped."""

import asyncio

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SKIP
from actions.preferences import ActionResetPreferences, ValidatePreferencesForm, budget_slot
from tests.actions.shopping_helpers import entity, run, slots_of, tracker, validate


def test_a_gift_request_keeps_what_it_says_and_asks_only_what_is_missing() -> None:
    # given: an earlier search left a material and a budget behind
    t = tracker("a gift for my sister, she likes blue, under 60 euros", "search_product",
                [entity("recipient", "sister"), entity("colour", "blue")],
                slots={"material": "oak", "budget": "up to 20 EUR"})
    # when
    messages, events = run(ActionResetPreferences(), t)
    # then
    assert messages == []
    assert slots_of(events) == {
        "product_type": None, "category": None, "colour": "blue", "material": None,
        "style": None, "occasion": None, "recipient": "sister", "budget": "up to 60 EUR",
        "search_text": "a gift for my sister, she likes blue, under 60 euros",
        "preference_questions": ["product_type"], "needs_preferences": True}


def test_a_specific_request_is_searched_at_once() -> None:
    t = tracker("show me blue ceramic mugs", "search_product",
                [entity("colour", "blue"), entity("material", "ceramic"),
                 entity("product_type", "mug")])
    _, events = run(ActionResetPreferences(), t)
    slots = slots_of(events)
    assert slots["preference_questions"] == [] and slots["needs_preferences"] is False
    assert (slots["product_type"], slots["colour"], slots["budget"]) == ("mug", "blue", None)


def test_a_vague_request_asks_every_question_and_no_budget_given_up_front_is_kept() -> None:
    t = tracker("something handmade for my mum, no budget", "search_product")
    _, events = run(ActionResetPreferences(), t)
    slots = slots_of(events)
    assert slots["budget"] == SKIP
    assert slots["preference_questions"] == ["product_type", "recipient", "colour"]


def test_the_form_requires_only_the_questions_of_the_request() -> None:
    form = ValidatePreferencesForm()
    t = tracker("hi", "greet", slots={"preference_questions": ["budget", "product_type"]})
    required = asyncio.run(form.required_slots(
        ["product_type", "budget", "recipient", "colour"], CollectingDispatcher(), t, {}))
    assert required == ["product_type", "budget"]


@pytest.mark.parametrize(("text", "expected"), [
    ("under 40", "up to 40 EUR"),
    ("between 20 and 40 euros", "between 20 and 40 EUR"),
    ("about 45 euros", "up to 45 EUR"),
    ("no budget", SKIP),
    ("I don't mind", SKIP),
])
def test_budget_answers_become_canonical_text(text: str, expected: str) -> None:
    messages, slots = validate(ValidatePreferencesForm(), tracker(text, "inform"), "budget",
                               text)
    assert (messages, slots) == ([], {"budget": expected})
    assert budget_slot(text) == expected


def test_an_answer_without_an_amount_is_asked_again_with_examples() -> None:
    messages, slots = validate(ValidatePreferencesForm(), tracker("lots", "inform"),
                               "budget", "lots")
    assert slots == {"budget": None}
    assert [m["response"] for m in messages] == ["utter_budget_not_understood"]


def test_a_category_answers_what_kind_of_piece() -> None:
    t = tracker("jewellery", "inform", [entity("category", "jewellery")])
    _, slots = validate(ValidatePreferencesForm(), t, "product_type", "jewellery")
    assert slots == {"product_type": SKIP, "category": "jewellery"}


def test_free_words_join_the_search_text() -> None:
    t = tracker("something for the kitchen", "inform", slots={"search_text": "a gift"})
    _, slots = validate(ValidatePreferencesForm(), t, "product_type",
                        "something for the kitchen")
    assert slots == {"product_type": SKIP, "search_text": "a gift something for the kitchen"}


def test_recipient_and_occasion_answers() -> None:
    form = ValidatePreferencesForm()
    assert validate(form, tracker("for my dad", "inform"), "recipient", "for my dad")[1] == {
        "recipient": "my dad"}
    wedding = tracker("a wedding", "inform", [entity("occasion", "wedding")])
    assert validate(form, wedding, "recipient", "a wedding")[1] == {
        "recipient": SKIP, "occasion": "wedding"}
    assert validate(form, tracker("skip", "deny"), "recipient", "skip")[1] == {
        "recipient": SKIP}


def test_a_style_answers_the_colour_question() -> None:
    t = tracker("minimalist", "inform", [entity("style", "minimalist")])
    _, slots = validate(ValidatePreferencesForm(), t, "colour", "minimalist")
    assert slots == {"colour": SKIP, "style": "minimalist"}
    green = tracker("green please", "inform", [entity("colour", "green")])
    assert validate(ValidatePreferencesForm(), green, "colour", "green")[1] == {
        "colour": "green"}


def test_reset_sets_slot_events_only() -> None:
    _, events = run(ActionResetPreferences(), tracker("/search_product", "search_product"))
    assert all(e["event"] == "slot" for e in events)
    assert SlotSet("search_text", "") in events
