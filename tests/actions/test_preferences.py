"""The preferences form asks only for what a request lacks; every question can be skipped.

What a request or an answer names is read by the real shop app (demo catalog) in process:
the live catalog decides, the NLU's entities add who the gift is for."""

import asyncio

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SKIP
from actions.preferences import ActionResetPreferences, ValidatePreferencesForm, budget_slot
from tests.actions.shopping_helpers import (
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
    validate,
)


def reset(shop: Shop, text: str, entities: list | None = None, **slots: object) -> dict:
    _, events = run(ActionResetPreferences(shop.client()),
                    tracker(text, "search_product", entities, slots=dict(slots)))
    return slots_of(events)


def form(shop: Shop) -> ValidatePreferencesForm:
    return ValidatePreferencesForm(shop.client())


def test_a_gift_request_keeps_what_it_says_and_asks_only_what_is_missing(shop: Shop) -> None:
    # given: an earlier search left a material and a budget behind
    t = tracker("a gift for my sister, she likes blue, under 60 euros", "search_product",
                [entity("recipient", "sister"), entity("colour", "blue")],
                slots={"material": "oak", "budget": "up to 20 EUR"})
    # when
    messages, events = run(ActionResetPreferences(shop.client()), t)
    # then
    assert messages == []
    assert slots_of(events) == {
        "product_type": None, "category": None, "colour": "blue", "material": None,
        "style": None, "occasion": None, "recipient": "sister", "budget": "up to 60.00 EUR",
        "search_text": "a gift for my sister, she likes blue, under 60 euros",
        "preference_questions": ["product_type"], "needs_preferences": True}


def test_a_specific_request_is_searched_at_once(shop: Shop) -> None:
    slots = reset(shop, "show me blue ceramic mugs")
    assert slots["preference_questions"] == [] and slots["needs_preferences"] is False
    assert (slots["product_type"], slots["colour"], slots["material"], slots["budget"]) == (
        "mug", "blue", "ceramic", None)


def test_a_request_for_what_pieces_show_is_searched_at_once(shop: Shop) -> None:
    # no kind of piece, but a motif some pieces' names carry
    slots = reset(shop, "do you have anything with birds on it under 30")
    assert slots["preference_questions"] == [] and slots["needs_preferences"] is False
    assert slots["budget"] == "up to 30.00 EUR"
    # a gift with one still gets the gift's questions, but not what kind of piece
    gift = reset(shop, "a present for my dad, anything with birds",
                 [entity("recipient", "dad")])
    assert gift["preference_questions"] == ["budget"]
    # a vague wish is still asked about
    vague = reset(shop, "something for my mum who loves gardening")
    assert vague["preference_questions"][0] == "product_type"


def test_the_catalog_decides_what_a_request_names_not_the_model(shop: Shop) -> None:
    # given: words the model tagged wrongly or not at all
    slots = reset(shop, "a lavender candle for my mum", [entity("colour", "purple"),
                                                         entity("recipient", "mum")])
    # then: the catalog knows the type and the scent; no colour was said
    assert (slots["product_type"], slots["colour"], slots["recipient"]) == (
        "candle", None, "mum")
    assert slots["preference_questions"] == ["budget"]  # a scent says what they like


def test_a_request_naming_a_product_is_searched_at_once(shop: Shop) -> None:
    slots = reset(shop, "a gift for my sister: the blue willow mug")
    assert slots["needs_preferences"] is False and slots["preference_questions"] == []


def test_when_the_shop_cannot_read_the_entities_are_used() -> None:
    t = tracker("show me blue ceramic mugs", "search_product",
                [entity("colour", "blue"), entity("material", "ceramic"),
                 entity("product_type", "mug")])
    _, events = run(ActionResetPreferences(unreachable_client()), t)
    slots = slots_of(events)
    assert (slots["product_type"], slots["colour"], slots["needs_preferences"]) == (
        "mug", "blue", False)


def test_a_vague_request_asks_every_question_and_no_budget_given_up_front_is_kept(
        shop: Shop) -> None:
    slots = reset(shop, "something handmade for my mum, no budget")
    assert slots["budget"] == SKIP
    assert slots["preference_questions"] == ["product_type", "recipient", "colour"]


def test_the_form_requires_only_the_questions_of_the_request(shop: Shop) -> None:
    t = tracker("hi", "greet", slots={"preference_questions": ["budget", "product_type"]})
    required = asyncio.run(form(shop).required_slots(
        ["product_type", "budget", "recipient", "colour"], CollectingDispatcher(), t, {}))
    assert required == ["product_type", "budget"]


@pytest.mark.parametrize(("text", "expected"), [
    ("under 40", "up to 40 EUR"),
    ("between 20 and 40 euros", "between 20 and 40 EUR"),
    ("about 45 euros", "up to 45 EUR"),
    ("no budget", SKIP),
    ("I don't mind", SKIP),
])
def test_budget_answers_become_canonical_text(shop: Shop, text: str, expected: str) -> None:
    messages, slots = validate(form(shop), tracker(text, "inform"), "budget", text)
    assert (messages, slots) == ([], {"budget": expected})
    assert budget_slot(text) == expected


def test_an_answer_without_an_amount_is_asked_again_with_examples(shop: Shop) -> None:
    messages, slots = validate(form(shop), tracker("lots", "inform"), "budget", "lots")
    assert slots == {"budget": None}
    assert [m["response"] for m in messages] == ["utter_budget_not_understood"]


@pytest.mark.parametrize("text", ["something cheap", "anything cheaper?",
                                  "not too expensive please"])
def test_cheap_where_the_budget_is_asked_is_the_shops_reading_of_cheap(shop: Shop,
                                                                      text: str) -> None:
    """Not "I didn't catch an amount": the shop reads "cheap" against its own prices."""
    cheap = asyncio.run(shop.client().interpret("cheap"))
    assert cheap.max_price is not None and cheap.min_price is None
    messages, slots = validate(form(shop), tracker(text, "inform"), "budget", text)
    assert (messages, slots) == ([], {"budget": f"up to {cheap.max_price} EUR"})


def test_a_colour_given_where_the_budget_is_asked_is_kept(shop: Shop) -> None:
    messages, slots = validate(form(shop), tracker("brown", "inform"), "budget", "brown")
    assert slots == {"budget": None, "colour": "brown"}  # the budget is asked again
    assert [m["text"] for m in messages] == ["Noted: brown."]


@pytest.mark.parametrize(("slot", "text", "intent", "words"), [
    ("budget", "can you put his initials on it", "customize_product", "personalised"),
    ("budget", "ooh could it be engraved", "inform", "personalised"),
    ("recipient", "i'd love her name on it", "inform", "personalised"),
])
def test_a_wish_to_personalise_where_another_question_is_asked_is_noted(
        shop: Shop, slot: str, text: str, intent: str, words: str) -> None:
    """Not "I didn't catch an amount": the wish is noted, pieces made to be personalised
    come first in the search, and the question is asked again."""
    t = tracker(text, intent, slots={"search_text": "a gift for my dad"})
    messages, slots = validate(form(shop), t, slot, text)
    assert slots == {slot: None, "search_text": f"a gift for my dad {words}"}
    assert [m["response"] for m in messages] == ["utter_noted_personalised"]


def test_who_it_is_for_given_where_the_budget_is_asked_is_kept(shop: Shop) -> None:
    t = tracker("it's for my sister's birthday", "inform",
                [entity("recipient", "sister"), entity("occasion", "birthday")])
    messages, slots = validate(form(shop), t, "budget", "it's for my sister's birthday")
    assert slots == {"budget": None, "recipient": "sister", "occasion": "birthday"}
    assert [m["text"] for m in messages] == ["Noted: for your sister's birthday."]


@pytest.mark.parametrize(("slot", "text", "expected"), [
    ("colour", "dunno, 40?", {"colour": SKIP, "budget": "up to 40 EUR"}),
    ("colour", "blue, under 30", {"colour": "blue", "budget": "up to 30 EUR"}),
    ("product_type", "not sure, around 50 euros", {"product_type": SKIP,
                                                   "budget": "up to 50 EUR"}),
    ("product_type", "a ring, size 7", {"product_type": "ring"}),  # a size, not a budget
])
def test_a_budget_said_with_another_answer_is_kept(shop: Shop, slot: str, text: str,
                                                  expected: dict[str, str]) -> None:
    _, slots = validate(form(shop), tracker(text, "inform"), slot, text)
    assert {k: v for k, v in slots.items() if k != "search_text"} == expected


def test_a_category_answers_what_kind_of_piece(shop: Shop) -> None:
    t = tracker("jewellery", "inform", slots={"search_text": "a gift"})
    _, slots = validate(form(shop), t, "product_type", "jewellery")
    assert slots == {"product_type": SKIP, "category": "jewellery",
                     "search_text": "a gift jewellery"}


def test_a_kind_of_piece_the_model_never_saw_is_read_from_the_catalog(shop: Shop) -> None:
    t = tracker("a linocut print please", "inform", slots={"search_text": "a gift"})
    _, slots = validate(form(shop), t, "product_type", "a linocut print please")
    assert slots == {"product_type": "linocut print",
                     "search_text": "a gift a linocut print please"}


def test_free_words_join_the_search_text(shop: Shop) -> None:
    t = tracker("something for the kitchen", "inform", slots={"search_text": "a gift"})
    _, slots = validate(form(shop), t, "product_type", "something for the kitchen")
    assert slots == {"product_type": SKIP, "search_text": "a gift something for the kitchen"}


def test_recipient_and_occasion_answers(shop: Shop) -> None:
    assert validate(form(shop), tracker("for my dad", "inform"), "recipient",
                    "for my dad")[1] == {"recipient": "my dad"}
    wedding = tracker("a wedding", "inform")
    assert validate(form(shop), wedding, "recipient", "a wedding")[1] == {
        "recipient": SKIP, "occasion": "wedding"}
    assert validate(form(shop), tracker("skip", "deny"), "recipient", "skip")[1] == {
        "recipient": SKIP}


def test_a_style_answers_the_colour_question(shop: Shop) -> None:
    t = tracker("minimalist", "inform")
    _, slots = validate(form(shop), t, "colour", "minimalist")
    assert slots == {"colour": SKIP, "style": "minimalist"}
    green = tracker("green please", "inform")
    assert validate(form(shop), green, "colour", "green please")[1] == {"colour": "green"}
    scent = tracker("something that smells of lavender", "inform", slots={"search_text": "a gift"})
    assert validate(form(shop), scent, "colour", "something that smells of lavender")[1] == {
        "colour": SKIP, "search_text": "a gift something that smells of lavender"}


def asked_with_buttons(text: str, *payloads: str, **slots: object):
    """The shopper's ``text`` just after a question that carried these buttons."""
    buttons = [{"title": p.title(), "payload": p} for p in payloads]
    events = [{"event": "user", "text": "a gift"},
              {"event": "bot", "text": "A question?", "data": {"buttons": buttons}},
              {"event": "user", "text": text}]
    return tracker(text, "inform", slots=dict(slots), events=events)


@pytest.mark.parametrize(("slot", "text", "payloads", "expected"), [
    ("colour", "the third one", ("blue", "green", "minimalist", "no preference"),
     {"colour": SKIP, "style": "minimalist"}),
    ("colour", "the last one please", ("blue", "green", "minimalist", "no preference"),
     {"colour": SKIP}),
    ("budget", "option 2", ("under 30 euros", "under 60 euros", "no budget"),
     {"budget": "up to 60 EUR"}),
    ("recipient", "the 2nd one", ("for me", "a birthday", "skip"),
     {"recipient": SKIP, "occasion": "birthday"}),
])
def test_a_button_picked_by_its_place_answers_the_question(
        shop: Shop, slot: str, text: str, payloads: tuple[str, ...],
        expected: dict[str, str]) -> None:
    """"the third one" under "Any colour or style?" is the third button, not words to
    search for (nor no preference)."""
    _, slots = validate(form(shop), asked_with_buttons(text, *payloads), slot, text)
    assert slots == expected


def test_reset_sets_slot_events_only(shop: Shop) -> None:
    _, events = run(ActionResetPreferences(shop.client()),
                    tracker("/search_product", "search_product"))
    assert all(e["event"] == "slot" for e in events)
    assert SlotSet("search_text", "") in events
