"""How the review actions read stars and which product a shopper means."""

from __future__ import annotations

import pytest

from actions.clients.aftersale import AfterSaleClient, ReviewableLine
from actions.reviews import ValidateReviewForm, choose_line, parse_rating, star_line
from tests.actions.shopping_helpers import tracker, unreachable_client, validate
from tests.actions.wording import UNAVAILABLE

LINES = [ReviewableLine(order_number="AT-1", sku="CER-MUG-001", name="Speckled Stoneware Mug"),
         ReviewableLine(order_number="AT-1", sku="TEX-NAP-001", name="Linen Napkins, Set of 4"),
         ReviewableLine(order_number="AT-2", sku="CER-MUG-001", name="Speckled Stoneware Mug")]


@pytest.mark.parametrize("text, entity, stars", [
    ("4", None, 4), ("4/5", None, 4), ("4 out of 5", None, 4), ("four stars", None, 4),
    ("★★★★", None, 4), ("FIVE", None, 5), ("1 star", None, 1), ("/inform", "3", 3),
    ("i'd say 5 stars", None, 5),
])
def test_stars_are_read_from_digits_words_and_star_signs(text: str, entity: str | None,
                                                         stars: int) -> None:
    assert parse_rating(text, entity) == stars


@pytest.mark.parametrize("text", ["", "great", "0", "6 stars", "10/10", "4.5",
                                  "between 3 and 4", "order 54321"])
def test_no_stars_or_two_different_counts_are_not_guessed(text: str) -> None:
    assert parse_rating(text) is None


def test_a_button_names_the_line_and_words_name_the_product() -> None:
    by_button = choose_line(LINES, number="at-2", sku="cer-mug-001", text="")
    by_words = choose_line(LINES, number=None, sku=None, text="i want to review my napkins")
    assert (by_button, by_words) == (LINES[2], LINES[1])


def test_several_products_and_no_words_for_one_leave_the_choice_to_the_shopper() -> None:
    assert choose_line(LINES, number=None, sku=None, text="I'd like to leave a review") is None
    assert choose_line(LINES[:1], number=None, sku=None, text="leave a review") == LINES[0]


def test_star_line_shows_given_and_missing_stars() -> None:
    assert (star_line(4), star_line(1)) == ("★★★★☆", "★☆☆☆☆")


def test_the_shop_unreachable_while_saving_stars_is_said_and_they_are_asked_again() -> None:
    down = unreachable_client()
    form = ValidateReviewForm(AfterSaleClient(down.settings))
    target = {"order_number": "AT-1", "sku": "CER-MUG-001", "name": "Speckled Mug"}
    t = tracker("4 stars", "inform", slots={"review_target": target},
                active_loop="review_form")
    messages, slots = validate(form, t, "review_rating", "4 stars")
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert slots == {"review_rating": None}
