"""Which words of a question about a product ask something, and what its listing says."""

from decimal import Decimal

import pytest

from actions.clients import Product
from actions.product_questions import asked_words, from_listing

BOARD = Product(
    id=1, name="Walnut Cheese Board", category="home", price=Decimal("45.00"), currency="EUR",
    image_url="", in_stock=False, variants=[], customization=[],
    attributes={"type": "cheese board", "material": "walnut", "size": "40 x 20 cm"},
    description="Cut from one plank of walnut for a timeless look. Oil it now and then; "
                "never soak it. It is not dishwasher safe.")


@pytest.mark.parametrize(("text", "words"), [
    ("tell me more about the second one?", []),
    ("what is it?", []),
    ("is the cheese board big?", ["big"]),
    ("what is it made of?", ["material"]),
    ("is it made by hand?", ["made", "hand"]),
    ("whats the burn time on the third one", ["burn", "time"]),
])
def test_the_words_that_ask_something(text: str, words: list[str]) -> None:
    assert asked_words(text, BOARD) == words


RING = Product(
    id=2, name="Silver Wave Ring", category="jewellery", price=Decimal("42.00"),
    currency="EUR", image_url="", in_stock=True, variants=[], customization=[],
    attributes={"type": "ring", "colour": "silver", "material": "sterling silver"},
    description="A band that rises and falls like a single wave, forged from silver wire.")


@pytest.mark.parametrize(("text", "words"), [
    # a word of its name that is an attribute value asks about that attribute
    ("is it real silver?", ["material", "silver"]),
    ("is the ring genuine silver", ["material", "silver"]),
    ("is it silver?", ["silver"]),
    # the name given as the piece's name asks nothing
    ("tell me about the silver wave ring", []),
    ("does the silver wave ring tarnish?", ["tarnish"]),
    ("is the wave ring solid?", ["material"]),
])
def test_a_name_word_that_is_an_attribute_value_asks_about_it(text: str,
                                                              words: list[str]) -> None:
    assert asked_words(text, RING) == words


def test_real_silver_is_answered_by_the_material_line() -> None:
    assert from_listing(RING, asked_words("is it real silver?", RING)) == (
        ["Colour: silver.", "Material: sterling silver.",
         "A band that rises and falls like a single wave, forged from silver wire."], [])


def test_the_listing_is_quoted_and_what_it_does_not_say_is_left() -> None:
    assert from_listing(BOARD, ["material"]) == (["Material: walnut."], [])
    assert from_listing(BOARD, ["big"]) == (["Size: 40 x 20 cm."], [])
    assert from_listing(BOARD, ["dishwasher", "safe"]) == (
        ["It is not dishwasher safe."], [])
    assert from_listing(BOARD, ["available", "engraved"]) == (
        ["Sold out at the moment."], ["engraved"])
    # "timeless" is not "time"
    assert from_listing(BOARD, ["burn", "time"]) == ([], ["burn", "time"])
