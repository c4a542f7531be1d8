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


def test_the_listing_is_quoted_and_what_it_does_not_say_is_left() -> None:
    assert from_listing(BOARD, ["material"]) == (["Material: walnut."], [])
    assert from_listing(BOARD, ["big"]) == (["Size: 40 x 20 cm."], [])
    assert from_listing(BOARD, ["dishwasher", "safe"]) == (
        ["It is not dishwasher safe."], [])
    assert from_listing(BOARD, ["available", "engraved"]) == (
        ["Sold out at the moment."], ["engraved"])
    # "timeless" is not "time"
    assert from_listing(BOARD, ["burn", "time"]) == ([], ["burn", "time"])
