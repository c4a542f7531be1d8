"""Customisation: the form asks the product's options from the commerce core's rules and
checks every answer with its rule engine (real API in process, demo shop on SQLite)."""

import asyncio
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.customization import (
    ActionAskOptionAnswer,
    ActionQuoteCustomization,
    ActionStartCustomization,
    ValidateCustomizationForm,
    current_option,
)
from tests.actions.shopping_helpers import (
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
    validate,
)
from tests.actions.wording import UNAVAILABLE


def start(shop: Shop, sku: str) -> dict[str, Any]:
    pid = str(shop.sku_id(sku))
    messages, events = run(ActionStartCustomization(shop.client()), tracker(
        "/customize_product", "customize_product", [entity("product_id", pid)]))
    slots = slots_of(events)
    slots["messages"] = messages
    return slots


def answer(shop: Shop, state: dict[str, Any], text: str, intent: str = "inform",
           entities: list[dict] | None = None, *, confidence: float = 0.9
           ) -> tuple[list[dict], dict[str, Any]]:
    t = tracker(text, intent, entities, slots={"customization": state},
                active_loop="customization_form", confidence=confidence)
    return validate(ValidateCustomizationForm(shop.client()), t, "option_answer", text)


def asked_in_turn(shop: Shop, state: dict[str, Any]) -> list[str]:
    """The options asked, in turn, when the shopper declines each one."""
    asked = []
    while (spec := current_option(state)) is not None:
        asked.append(spec["name"])
        messages, slots = answer(shop, state, "no thanks", intent="deny")
        assert messages == [], messages
        state = slots["customization"]
    return asked


def test_a_mug_offers_its_ceramic_options_and_asks_the_first(shop: Shop) -> None:
    # when
    slots = start(shop, "CER-MUG-001")
    # then
    state = slots["customization"]
    assert slots["can_customize"] is True and slots["product_id"] == state["product_id"]
    assert state["choices"] == {} and state["answered"] == []
    assert asked_in_turn(shop, state) == ["glaze", "inscription", "gold_rim", "gift_box"]
    assert slots["messages"][0]["text"].startswith("Let's personalise Hand-Thrown Ceramic Mug")
    asked, _ = run(ActionAskOptionAnswer(), tracker("x", "inform",
                                                    slots={"customization": state}))
    assert asked[0]["text"] == ("Glaze colour (10 more making days): which would you like?")
    assert [b["payload"] for b in asked[0]["buttons"]] == [
        "cobalt blue", "sage green", "speckled white", "matte black", "dusty pink", "/deny"]


def test_answers_are_checked_by_the_rule_engine_and_refused_in_its_words(shop: Shop) -> None:
    state = start(shop, "CER-MUG-001")["customization"]
    # a value named loosely is matched to the listed one
    messages, slots = answer(shop, state, "matte black please")
    assert messages == []
    state = slots["customization"]
    assert state["choices"] == {"glaze": "matte black"} and slots["option_answer"] is None
    # too long for the inscription: the rule's own sentence, nothing recorded
    messages, slots = answer(shop, state, "Happy birthday to the best mum")
    assert [m["text"] for m in messages] == [
        "Sorry, that won't work: Hand-painted inscription can be at most 20 characters long."]
    assert slots == {"option_answer": None}
    messages, slots = answer(shop, state, "'Best Mum'", entities=[
        entity("engraving_text", "Best Mum")])
    state = slots["customization"]
    assert state["choices"] == {"glaze": "matte black", "inscription": "Best Mum"}
    # gold lustre does not go on matte black: it is not even asked
    assert current_option(state)["name"] == "gift_box"
    _, slots = answer(shop, state, "/affirm", intent="affirm")
    state = slots["customization"]
    assert current_option(state) is None
    required = asyncio.run(ValidateCustomizationForm(shop.client()).required_slots(
        ["option_answer"], CollectingDispatcher(),
        tracker("x", "inform", slots={"customization": state}), {}))
    assert required == []


def declined(shop: Shop, state: dict[str, Any], times: int) -> dict[str, Any]:
    for _ in range(times):
        state = answer(shop, state, "no thanks", intent="deny")[1]["customization"]
    return state


@pytest.mark.parametrize(("said", "intent", "confidence", "choices"), [
    ("add to basket", "add_to_cart", 0.98, {}),
    ("checkout", "checkout", 1.0, {}),
    ("no, just add it", "deny", 0.55, {}),
    ("that's all thanks", "inform", 0.4, {}),
    ('"Best Mum" and just add it', "add_to_cart", 0.7, {"inscription": "Best Mum"}),
])
def test_asking_for_the_piece_while_an_option_is_asked_leaves_out_the_rest(
        shop: Shop, said: str, intent: str, confidence: float,
        choices: dict[str, Any]) -> None:
    # given: the mug's inscription is asked (the glaze declined)
    state = declined(shop, start(shop, "CER-MUG-001")["customization"], 1)
    assert current_option(state)["name"] == "inscription"
    # when: the shopper asks for the piece as it is
    messages, slots = answer(shop, state, said, intent=intent, confidence=confidence)
    # then: no words are painted but quoted ones, and the extras left are not asked
    assert messages == []
    finished = slots["customization"]
    assert finished["choices"] == choices and current_option(finished) is None
    assert finished["answered"] == ["glaze", "inscription", "gold_rim", "gift_box"]


def test_other_commands_where_words_are_asked_for_are_asked_about_not_printed(
        shop: Shop) -> None:
    state = declined(shop, start(shop, "CER-MUG-001")["customization"], 1)
    messages, slots = answer(shop, state, "show me my basket", intent="view_cart",
                             confidence=0.98)
    assert [m["text"] for m in messages] == [
        'Should it really say "show me my basket"? If so, send those words in quotes. Or say '
        '"skip" to leave it out, and I\'ll go on to the price and your cart.']
    assert slots == {"option_answer": None}
    # in quotes, the words are printed; words the NLU is less sure of are taken as written
    for said, confidence, printed in (('"add to basket"', 0.98, "add to basket"),
                                      ("Buy me", 0.81, "Buy me")):
        _, slots = answer(shop, state, said, intent="checkout", confidence=confidence)
        assert slots["customization"]["choices"] == {"inscription": printed}


def test_a_yes_or_no_answered_with_adding_it(shop: Shop) -> None:
    state = declined(shop, start(shop, "CER-MUG-001")["customization"], 3)
    assert current_option(state)["name"] == "gift_box"
    # "checkout" leaves the gift box out; "yes, add it" answers it
    for said, intent, choices in (("checkout", "checkout", {}),
                                  ("yes, add it to my cart", "add_to_cart", {"gift_box": True})):
        messages, slots = answer(shop, state, said, intent=intent, confidence=1.0)
        assert messages == [] and slots["customization"]["choices"] == choices
        assert current_option(slots["customization"]) is None
    # where the yes or no is required, a command asks for it first
    required = {**state, "next": {**state["next"], "required": True}}
    messages, slots = answer(shop, required, "checkout", intent="checkout", confidence=1.0)
    assert [m["text"] for m in messages] == [
        "Just yes or no to this one first — then I'll quote the price and you can add it to "
        "your cart."]
    assert slots == {"option_answer": None}


def test_a_required_option_is_still_asked_and_the_extras_after_it_left_out(
        shop: Shop) -> None:
    # given: a tea towel; embroidery is asked first
    state = start(shop, "TXT-TTW-001")["customization"]
    assert current_option(state)["name"] == "embroidery"
    # when: "yes, just add it": the name to embroider is required
    messages, slots = answer(shop, state, "yes, just add it", intent="add_to_cart",
                             confidence=0.6)
    # then: it is asked, with why
    assert [m["text"] for m in messages] == [
        "I've left out the other extras, but this one is needed before I can quote the price."]
    state = slots["customization"]
    assert current_option(state)["name"] == "embroidery_text"
    # and once it is given, the optional thread colour is not asked
    _, slots = answer(shop, state, "Chloé")
    assert slots["customization"]["choices"] == {"embroidery": True, "embroidery_text": "Chloé"}
    assert current_option(slots["customization"]) is None


def test_a_wrong_choice_lists_the_allowed_values(shop: Shop) -> None:
    state = start(shop, "CER-MUG-001")["customization"]
    messages, slots = answer(shop, state, "tartan")
    assert [m["text"] for m in messages] == [
        "Sorry, that won't work: Glaze colour must be one of: cobalt blue, sage green, "
        "speckled white, matte black, dusty pink."]
    assert slots == {"option_answer": None}


def test_a_required_option_cannot_be_skipped(shop: Shop) -> None:
    state = start(shop, "JWL-RNG-010")["customization"]
    assert current_option(state)["name"] == "band_size"
    messages, slots = answer(shop, state, "no", intent="deny")
    assert [m["text"] for m in messages] == ["Sorry, that won't work: Ring size is required."]
    _, slots = answer(shop, state, "size m")
    assert slots["customization"]["choices"] == {"band_size": "m"}


def test_the_quote_gives_price_and_ready_date_and_asks_to_add(shop: Shop) -> None:
    state = start(shop, "JWL-RNG-010")["customization"]
    state["choices"] = {"band_size": "m", "band_width": "3 mm", "inside_engraving": "A & B"}
    messages, events = run(ActionQuoteCustomization(shop.client()), tracker(
        "/affirm", "affirm", slots={"customization": state}))
    text = messages[0]["text"]
    assert text.startswith("Hammered 9ct Gold Wedding Band with ring size: m; band width: "
                           "3 mm (+60.00 EUR); engraving inside the band: A & B: 440.00 EUR "
                           "each, ready by ")
    assert text.endswith(". Shall I add it to your cart?")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert slots_of(events) == {"product_id": state["product_id"]}


def test_a_piece_without_options_says_so_and_offers_the_cart(shop: Shop) -> None:
    slots = start(shop, "CND-MAT-001")
    assert slots["can_customize"] is False
    assert slots["messages"][0]["text"] == ("Safety Matches in Glass Jar comes just as shown; "
                                            "it has no personalisation options.")
    assert slots["messages"][0]["buttons"][0]["title"] == "Add to cart"


@pytest.mark.parametrize("text", ["personalise it please", "can i get it embroidered in gold"])
def test_without_a_product_it_asks_which_one(shop: Shop, text: str) -> None:
    # a request, or a question the FAQ does not confidently answer
    messages, events = run(ActionStartCustomization(shop.client(), shop.knowledge()),
                           tracker(text, "customize_product"))
    assert [m.get("response") for m in messages] == ["utter_which_product_to_customize"]
    assert slots_of(events) == {"can_customize": False}


def test_a_question_about_personalising_no_piece_is_answered_from_the_faq(shop: Shop) -> None:
    messages, events = run(ActionStartCustomization(shop.client(), shop.knowledge()),
                           tracker("can i pick my own glaze?", "customize_product"))
    [message] = messages
    assert message["text"].startswith("Yes, for our tableware shapes"), message
    assert slots_of(events)["can_customize"] is False
    assert "customization" not in slots_of(events)


def test_the_second_shown_product_is_personalised(shop: Shop) -> None:
    mug, ring = str(shop.sku_id("CER-MUG-001")), str(shop.sku_id("JWL-RNG-001"))
    _, events = run(ActionStartCustomization(shop.client()), tracker(
        "personalise the second one", "customize_product", [entity("ordinal", "second")],
        slots={"shown_products": [mug, ring]}))
    assert slots_of(events)["customization"]["product_id"] == ring


def test_commerce_api_down_keeps_every_answer(shop: Shop) -> None:
    state = start(shop, "CER-MUG-001")["customization"]
    state["choices"], state["answered"] = {"glaze": "sage green"}, ["glaze"]
    t = tracker("Hi", "inform", slots={"customization": state},
                active_loop="customization_form")
    messages, slots = validate(ValidateCustomizationForm(unreachable_client()), t,
                               "option_answer", "Hi")
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert slots == {"option_answer": None}
    messages, events = run(ActionStartCustomization(unreachable_client()), tracker(
        "/customize_product", "customize_product", [entity("product_id", "1")]))
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert slots_of(events) == {"can_customize": False}


def test_a_ring_in_sizes_asks_the_size_from_its_variants_and_needs_no_resize(shop: Shop
                                                                           ) -> None:
    # given a ring made in sizes J, L, N (in stock) and P (sold out)
    state = start(shop, "JWL-RNG-001")["customization"]
    assert current_option(state)["name"] == "size"
    asked, _ = run(ActionAskOptionAnswer(), tracker("x", "inform",
                                                    slots={"customization": state}))
    assert (asked[0]["response"], asked[0]["sizes"]) == ("utter_ask_size", "J, L, N")
    assert asked[0]["buttons"][2] == {"title": "Size N", "payload": '/inform{"size": "n"}'}
    # when a size no variant in stock has is given, it is told and asked again
    messages, slots = answer(shop, state, "P")
    assert (messages[0]["response"], messages[0]["size"]) == ("utter_size_not_in_stock", "P")
    assert "customization" not in slots
    # when the shopper says N (which the NLU may read as "no")
    messages, slots = answer(shop, state, "N", intent="deny")
    # then the size N variant is chosen and resizing is not asked
    chosen = slots["customization"]
    assert messages == [] and chosen["variant_id"] == shop.variant_id("JWL-RNG-003")
    assert chosen["size"] == "N" and chosen["answered"] == ["size", "ring_resize"]
    assert current_option(chosen)["name"] == "engraving"


def test_a_ticked_box_opens_the_options_that_depend_on_it(shop: Shop) -> None:
    # given a print whose frame colour and mount are only offered with a frame
    state = start(shop, "PRT-ART-004")["customization"]
    assert current_option(state)["name"] == "frame"
    # when the frame is declined, its colour and mount are not asked
    _, declined = answer(shop, state, "no", intent="deny")
    assert current_option(declined["customization"])["name"] == "paper"
    # when it is ticked, they are, with the question as the shop words it
    _, ticked = answer(shop, state, "/affirm", intent="affirm")
    state = ticked["customization"]
    assert state["choices"] == {"frame": True}
    asked, _ = run(ActionAskOptionAnswer(), tracker("x", "inform",
                                                    slots={"customization": state}))
    assert asked[0]["text"] == "Frame colour: which would you like?"
    assert [b["payload"] for b in asked[0]["buttons"]] == ["natural oak", "black", "white",
                                                           "/deny"]


def test_the_chosen_size_decides_which_options_follow_and_the_price(shop: Shop) -> None:
    # given the heron print, made in A4, A3 and 50x70 cm (no window mount at that size)
    state = start(shop, "PRT-ART-001")["customization"]
    assert current_option(state)["name"] == "size"
    # when the shopper picks 50x70 cm, then a black frame
    _, sized = answer(shop, state, "50x70 cm", entities=[entity("size", "50x70 cm")])
    state = sized["customization"]
    assert state["variant_id"] == shop.variant_id("PRT-ART-003")
    _, framed = answer(shop, state, "/affirm", intent="affirm")
    _, coloured = answer(shop, framed["customization"], "black")
    # then the mount is not offered, and the quote is that size's price plus the frame
    state = coloured["customization"]
    assert current_option(state)["name"] == "paper"
    messages, _ = run(ActionQuoteCustomization(shop.client()),
                      tracker("x", "inform", slots={"customization": state}))
    assert messages[0]["text"].startswith(
        "Blue Heron Giclée Print (size 50x70 cm) with framed, ready to hang: yes "
        "(+30.00 EUR); frame colour: black: 105.00 EUR each, ready by ")
