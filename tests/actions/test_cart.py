"""Cart actions against the real commerce API app (in process, demo shop on SQLite)."""

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.cart import (
    ActionAddToCart,
    ActionChangeQuantity,
    ActionRemoveFromCart,
    ActionViewCart,
)
from actions.faq import ActionAnswerFaq, asks_shipping_cost
from tests.actions.shopping_helpers import (
    SHOPPER,
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
)
from tests.actions.wording import UNAVAILABLE


def test_add_with_quantity_and_the_customisation_just_quoted(shop: Shop) -> None:
    # given: the mug was personalised in this conversation
    pid = str(shop.sku_id("CER-MUG-001"))
    state = {"product_id": pid, "name": "Mug", "choices": {"glaze": "sage green"},
             "answered": ["glaze"], "options": []}
    # when: "yes" to the quote, then two of them
    messages, events = run(ActionAddToCart(shop.client()), tracker(
        "two please", "add_to_cart", [entity("quantity", "two")],
        slots={"customization": state, "product_id": pid}))
    # then
    assert messages[0]["text"] == (
        "Added 2 × Hand-Thrown Ceramic Mug — Cobalt Blue (glaze: sage green) to your cart. "
        "You now have 2 items, subtotal 64.00 EUR.")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/view_cart", "/checkout",
                                                              "/search_product"]
    assert slots_of(events) == {"product_id": pid, "customization": None}
    lines = shop.cart()["lines"]
    assert [(x["sku"], x["quantity"], x["options"]) for x in lines] == [
        ("CER-MUG-001", 2, {"glaze": "sage green"})]


def test_a_card_button_adds_one_without_the_options_of_another_product(shop: Shop) -> None:
    mug, cactus = str(shop.sku_id("CER-MUG-001")), str(shop.sku_id("PRT-ART-017"))
    state = {"product_id": mug, "choices": {"glaze": "sage green"}}
    run(ActionAddToCart(shop.client()), tracker(
        "/add_to_cart", "add_to_cart", [entity("product_id", cactus)],
        slots={"customization": state}))
    assert [(x["sku"], x["quantity"], x["options"]) for x in shop.cart()["lines"]] == [
        ("PRT-ART-017", 1, {})]


def test_a_piece_that_must_be_personalised_first_says_why(shop: Shop) -> None:
    band = str(shop.sku_id("JWL-RNG-010"))
    messages, events = run(ActionAddToCart(shop.client()), tracker(
        "/add_to_cart", "add_to_cart", [entity("product_id", band)]))
    assert messages[0]["text"] == ("Hammered 9ct Gold Wedding Band needs personalising first: "
                                   "Ring size is required.")
    assert messages[0]["buttons"][0]["payload"] == f'/customize_product{{"product_id": "{band}"}}'
    assert shop.cart()["lines"] == []


def test_add_the_second_shown_product(shop: Shop) -> None:
    shown = [str(shop.sku_id("CER-MUG-001")), str(shop.sku_id("CER-MUG-002"))]
    run(ActionAddToCart(shop.client()), tracker(
        "add the second one", "add_to_cart", [entity("ordinal", "second")],
        slots={"shown_products": shown}))
    assert [x["sku"] for x in shop.cart()["lines"]] == ["CER-MUG-002"]


def test_add_the_cheapest_shown_product_or_ask_which_one(shop: Shop) -> None:
    shown = [str(shop.sku_id(sku)) for sku in ("CER-MUG-001", "PRT-ART-017")]
    last = {"shown": shown, "prices": ["32.00", "18.00"], "currency": "EUR"}
    # "it" with two cards on screen: which one?
    messages, _ = run(ActionAddToCart(shop.client()), tracker(
        "add it to my cart", "add_to_cart",
        slots={"shown_products": shown, "last_search": last}))
    assert messages[0]["response"] == "utter_which_shown_product_to_add"
    assert shop.cart()["lines"] == []
    run(ActionAddToCart(shop.client()), tracker(
        "add the cheapest one", "add_to_cart",
        slots={"shown_products": shown, "last_search": last}))
    assert [x["sku"] for x in shop.cart()["lines"]] == ["PRT-ART-017"]


def test_view_cart_lists_lines_and_totals(shop: Shop) -> None:
    shop.add("CER-MUG-001", 2, glaze="sage green")
    shop.add("JWL-RNG-001")
    cart = shop.cart()
    messages, events = run(ActionViewCart(shop.client()), tracker("my cart", "view_cart"))
    assert events == []
    lines = messages[0]["text"].splitlines()
    assert lines[:3] == [
        "Your cart:",
        "1. Hand-Thrown Ceramic Mug — Cobalt Blue (glaze: sage green) × 2 — 64.00 EUR",
        f"2. {cart['lines'][1]['name']} × 1 — {Decimal(cart['lines'][1]['line_total']):.2f} EUR"]
    assert lines[3] == (f"Subtotal {cart['subtotal']} EUR, shipping to FR {cart['shipping']} "
                        f"EUR: total {cart['total']} EUR (incl. {cart['tax']} EUR VAT).")
    assert messages[0]["buttons"] == [{"title": "Check out", "payload": "/checkout"}]


def test_change_the_quantity_of_the_line_named_and_remove_by_ordinal(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    shop.add("JWL-RNG-001")
    messages, _ = run(ActionChangeQuantity(shop.client()), tracker(
        "make the mug 3", "change_quantity", [entity("quantity", "3")]))
    assert messages[0]["text"].startswith("Done: 3 × Hand-Thrown Ceramic Mug")
    assert [x["quantity"] for x in shop.cart()["lines"]] == [3, 1]
    messages, _ = run(ActionRemoveFromCart(shop.client()), tracker(
        "remove the second one", "remove_from_cart", [entity("ordinal", "second")]))
    assert messages[0]["text"].startswith("I removed ")
    assert [x["sku"] for x in shop.cart()["lines"]] == ["CER-MUG-001"]


def test_two_of_the_second_card_after_adding_the_first_adds_them(shop: Shop) -> None:
    # given: two mugs on screen, the first one in the cart
    shown = [str(shop.sku_id("CER-MUG-001")), str(shop.sku_id("CER-MUG-002"))]
    shop.add("CER-MUG-001")
    # when: "and two of the second", read as a change of quantity
    messages, _ = run(ActionChangeQuantity(shop.client()), tracker(
        "and two of the second", "change_quantity",
        [entity("ordinal", "second"), entity("quantity", "2")],
        slots={"shown_products": shown}))
    # then: two of the second card join the cart; the first line is left as it was
    assert messages[0]["text"].startswith("Added 2 × ")
    assert [(x["sku"], x["quantity"]) for x in shop.cart()["lines"]] == [
        ("CER-MUG-001", 1), ("CER-MUG-002", 2)]
    # "three of the first": that card's line changes
    run(ActionChangeQuantity(shop.client()), tracker(
        "three of the first", "change_quantity",
        [entity("ordinal", "first"), entity("quantity", "3")],
        slots={"shown_products": shown}))
    assert [x["quantity"] for x in shop.cart()["lines"]] == [3, 2]


def test_the_second_one_with_one_line_in_the_cart_is_not_that_line(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    messages, _ = run(ActionRemoveFromCart(shop.client()), tracker(
        "remove the second one", "remove_from_cart", [entity("ordinal", "second")]))
    assert [x["sku"] for x in shop.cart()["lines"]] == ["CER-MUG-001"]
    assert messages[0]["response"] == "utter_which_item_to_remove"


def test_which_line_is_asked_when_unclear_and_zero_removes(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    shop.add("JWL-RNG-001")
    messages, _ = run(ActionChangeQuantity(shop.client()), tracker(
        "make it 2", "change_quantity", [entity("quantity", "2")]))
    assert messages[0]["text"] == "Which item should I change?"
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[0].startswith('/change_quantity{"product_id": "') and \
        payloads[0].endswith('", "quantity": "2"}')
    mug = str(shop.sku_id("CER-MUG-001"))
    run(ActionChangeQuantity(shop.client()), tracker(
        "none of the mug", "change_quantity", [entity("product_id", mug),
                                               entity("quantity", "0")]))
    assert [x["sku"] for x in shop.cart()["lines"]] == ["JWL-RNG-001"]


def added_just_now(pid: str, text: str) -> list[dict[str, Any]]:
    """A conversation whose bot turn before ``text`` added the product ``pid``."""
    said = {"text": "ok the second one please", "intent": {"name": "add_to_cart"},
            "entities": [entity("ordinal", "second")]}
    latest = {"text": text, "intent": {"name": "add_to_cart"}, "entities": []}
    return [{"event": "user", "text": said["text"], "parse_data": said},
            {"event": "action", "name": "action_add_to_cart"},
            {"event": "bot", "text": "Added 1 × …",
             "metadata": {"utter_action": "utter_added_to_cart_one_item"}},
            {"event": "bot", "text": "Goes well with it:"},
            {"event": "slot", "name": "product_id", "value": pid},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": latest}]


def test_add_it_just_after_adding_it_does_not_add_it_twice(shop: Shop) -> None:
    pid = str(shop.sku_id("CER-MUG-001"))
    shop.add("CER-MUG-001")
    messages, events = run(ActionAddToCart(shop.client()), tracker(
        "add it", "add_to_cart", slots={"product_id": pid},
        events=added_just_now(pid, "add it")))
    assert [m["text"] for m in messages] == [
        "Hand-Thrown Ceramic Mug — Cobalt Blue is already in your cart: I added it just now. "
        'For one more, press "Add another" or say "make it 2".']
    assert messages[0]["buttons"][0]["payload"] == f'/add_to_cart{{"product_id": "{pid}"}}'
    assert events == [] and shop.cart()["lines"][0]["quantity"] == 1
    # "add another one" (or the button) adds it
    run(ActionAddToCart(shop.client()), tracker(
        "add another one", "add_to_cart", slots={"product_id": pid},
        events=added_just_now(pid, "add another one")))
    assert shop.cart()["lines"][0]["quantity"] == 2


@pytest.mark.parametrize(("text", "quantity"), [
    ("actually make that one", 1), ("make it three", 3), ("change it to two please", 2),
    ("just one", 1), ("can you make them a dozen", 12)])
def test_a_quantity_in_words_the_nlu_left_out_is_read(shop: Shop, text: str,
                                                     quantity: int) -> None:
    shop.add("CER-MUG-001", 2)
    messages, _ = run(ActionChangeQuantity(shop.client()), tracker(text, "change_quantity"))
    assert messages[0]["response"] == "utter_quantity_changed", messages
    assert shop.cart()["lines"][0]["quantity"] == quantity


def test_more_than_in_stock_is_refused_in_a_sentence(shop: Shop) -> None:
    shop.add("CER-MUG-001")
    messages, _ = run(ActionChangeQuantity(shop.client()), tracker(
        "make it 50", "change_quantity", [entity("quantity", "50")]))
    assert messages[0]["text"] == "Only 14 of Hand-Thrown Ceramic Mug — Cobalt Blue left in stock."
    assert shop.cart()["lines"][0]["quantity"] == 1


def test_empty_cart_and_api_down(shop: Shop) -> None:
    messages, _ = run(ActionRemoveFromCart(shop.client()), tracker("remove it",
                                                                   "remove_from_cart"))
    assert messages[0]["text"] == "Your cart is already empty."
    messages, events = run(ActionViewCart(unreachable_client()), tracker("cart", "view_cart"))
    assert [m["text"] for m in messages] == [UNAVAILABLE] and events == []
    messages, events = run(ActionAddToCart(unreachable_client()), tracker(
        "/add_to_cart", "add_to_cart", [entity("product_id", "1")]))
    assert [m["text"] for m in messages] == [UNAVAILABLE] and events == []


def test_a_named_size_is_added_else_the_size_is_asked_from_the_variants(shop: Shop) -> None:
    ring = str(shop.sku_id("JWL-RNG-002"))
    messages, _ = run(ActionAddToCart(shop.client()), tracker(
        "add the ring in size N", "add_to_cart", slots={"product_id": ring}))
    assert " (size N) to your cart." in messages[0]["text"]
    # when no size is named: the sizes in stock are asked, each a button that adds it
    messages, events = run(ActionAddToCart(shop.client()), tracker(
        "add it", "add_to_cart", slots={"product_id": ring}))
    assert [(m["response"], m["sizes"]) for m in messages] == [("utter_ask_size", "J, L, N")]
    assert [b["title"] for b in messages[0]["buttons"]] == ["Size J", "Size L", "Size N"]
    assert events == [SlotSet("product_id", ring)]
    assert messages[0]["buttons"][1]["payload"] == \
        f'/add_to_cart{{"product_id": "{ring}", "size": "l"}}'
    run(ActionAddToCart(shop.client()), tracker(
        "/add_to_cart", "add_to_cart", [entity("product_id", ring), entity("size", "l")]))
    # and a size no variant in stock has (P is sold out, K never made) is told as such
    for size in ("P", "K"):
        messages, _ = run(ActionAddToCart(shop.client()), tracker(
            f"add it in size {size}", "add_to_cart", slots={"product_id": ring}))
        assert (messages[0]["response"], messages[0]["size"]) == ("utter_size_not_in_stock",
                                                                  size)
    assert [x["sku"] for x in shop.cart()["lines"]] == ["JWL-RNG-003", "JWL-RNG-002"]


def test_a_size_a_one_size_piece_does_not_come_in_is_told_not_replaced(shop: Shop) -> None:
    ring = str(shop.sku_id("JWL-RNG-013"))  # the Silver Wave Ring is made in size N only
    messages, events = run(ActionAddToCart(shop.client()), tracker(
        "ok add the first one in size M", "add_to_cart", slots={"product_id": ring}))
    assert [m["text"] for m in messages] == [
        "Size M isn't in stock for Silver Wave Ring. In stock: N."]
    assert [b["title"] for b in messages[0]["buttons"]] == ["Size N"]
    assert events == [SlotSet("product_id", ring)] and shop.cart()["lines"] == []
    # its own size, or no size, adds it
    messages, _ = run(ActionAddToCart(shop.client()), tracker(
        "add it in size N", "add_to_cart", slots={"product_id": ring}))
    assert messages[0]["text"].startswith("Added 1 × Silver Wave Ring to your cart."), messages
    assert [x["sku"] for x in shop.cart()["lines"]] == ["JWL-RNG-013"]


@pytest.mark.parametrize(("text", "left"), [("remove one", 2), ("take two off", 1),
                                            ("one less please", 2), ("remove 3", 0),
                                            ("remove the mug", 0)])
def test_remove_a_number_of_pieces_takes_them_off_the_line(shop: Shop, text: str,
                                                           left: int) -> None:
    # given three of one piece
    shop.add("CER-MUG-001", 3)
    # when
    messages, _ = run(ActionRemoveFromCart(shop.client()), tracker(text, "remove_from_cart"))
    # then only as many as said go: the line stays with the rest
    lines = shop.cart()["lines"]
    assert [x["quantity"] for x in lines] == ([left] if left else [])
    if left:
        assert (messages[0]["response"], messages[0]["quantity"]) == ("utter_cart_fewer", left)
        assert f"× {left} — " in messages[0]["cart"]
    else:
        assert messages[0]["text"].startswith("I removed Hand-Thrown Ceramic Mug")


@pytest.mark.parametrize("text", ["one less", "remove 1", "take one off"])
def test_a_quantity_change_that_takes_some_off_lowers_the_line(shop: Shop, text: str) -> None:
    # given three of one piece; the NLU may read these as a change of quantity
    shop.add("CER-MUG-001", 3)
    # when
    messages, _ = run(ActionChangeQuantity(shop.client()), tracker(
        text, "change_quantity", [entity("quantity", "1")] if "1" in text else []))
    # then one goes, not all but one
    assert [x["quantity"] for x in shop.cart()["lines"]] == [2]
    assert messages[0]["response"] == "utter_cart_fewer"


def test_the_total_with_shipping_to_a_country_prices_the_cart(shop: Shop) -> None:
    """"what's the total with shipping to germany?" with pieces in the cart: the cart's
    own total, not the FAQ's table of rates."""
    shop.add("CER-MUG-002", 2)
    question = "what's the total with shipping to germany?"
    messages, events = run(ActionAnswerFaq(shop.knowledge(), shop.client()),
                           tracker(question, "faq"))
    [message] = messages
    cart = asyncio.run(shop.client().cart(f"/shoppers/web/{SHOPPER}", country="DE"))
    assert cart.shipping > 0 and cart.shipping_country == "DE"
    assert message["text"].startswith("Your cart:\n1. ")
    assert f"shipping to DE {cart.shipping:.2f} EUR: total {cart.total:.2f} EUR" in \
        message["text"], message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/checkout"]
    assert events == []


def test_the_cart_shown_with_shipping_to_a_country(shop: Shop) -> None:
    shop.add("CER-MUG-002")
    messages, _ = run(ActionViewCart(shop.client()),
                      tracker("show me my basket with shipping to spain", "view_cart"))
    assert "shipping to ES " in messages[0]["text"], messages


def test_shipping_to_a_country_with_an_empty_cart_is_the_faqs_answer(shop: Shop) -> None:
    messages, _ = run(ActionAnswerFaq(shop.knowledge(), shop.client()),
                      tracker("how much is shipping to germany?", "faq"))
    assert not messages[0]["text"].startswith("Your cart"), messages


@pytest.mark.parametrize(("question", "country"), [
    ("what's the total with shipping to germany?", "DE"),
    ("how much is postage to the US", "US"), ("shipping cost to the czech republic?", "CZ"),
    ("how much would it cost to send it to us", None), ("do you ship to germany?", None),
    ("how long does delivery to spain take", None)])
def test_a_shipping_cost_question_names_its_country(question: str, country: str | None
                                                    ) -> None:
    assert asks_shipping_cost(question) == country
