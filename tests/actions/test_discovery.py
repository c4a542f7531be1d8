"""Discovery actions against the real commerce API app (in process, demo shop on SQLite)."""

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from statistics import median_low

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from actions.clients import SearchQuery
from actions.common import SKIP, UNAVAILABLE
from actions.discovery import ActionRefineSearch, ActionSearchProducts, ActionShowProduct
from tests.actions.shopping_helpers import (
    Shop,
    entity,
    open_shop,
    run,
    slots_of,
    sqlite_only,
    tracker,
    unreachable_client,
)


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    yield from sqlite_only(sqlite_engine)


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session]) -> Iterator[Shop]:
    yield from open_shop(demo_catalog)


def search(shop: Shop, **slots: object) -> tuple[list[dict], dict]:
    messages, events = run(ActionSearchProducts(shop.client()),
                           tracker("show me", "search_product", slots=dict(slots)))
    return messages, slots_of(events)


def test_search_shows_cards_of_blue_ceramic_mugs_within_budget(shop: Shop) -> None:
    # given: the slots of "show me blue ceramic mugs under 30 euros"
    messages, slots = search(shop, search_text="show me blue ceramic mugs under 30 euros",
                             colour="blue", material="ceramic", product_type="mug",
                             budget="up to 30 EUR")
    # then
    assert len(messages) == 1 and messages[0]["text"] == "Here is what I found:"
    cards = messages[0]["custom"]["cards"]
    assert 1 <= len(cards) <= 6
    for card in cards:
        assert "Mug" in card["name"] and card["currency"] == "EUR"
        assert Decimal(card["price"]) <= 30 and card["price"].count(".") == 1
        pid = card["id"]
        assert [b["payload"] for b in card["buttons"]] == [
            f'/product_details{{"product_id": "{pid}"}}',
            f'/customize_product{{"product_id": "{pid}"}}',
            f'/add_to_cart{{"product_id": "{pid}"}}']
    assert slots["shown_products"] == [str(c["id"]) for c in cards]
    last = slots["last_search"]
    assert last["attributes"] == {"type": "mug", "colour": "blue", "material": "ceramic"}
    assert last["max_price"] == "30" and last["prices"] == [c["price"] for c in cards]


def test_skipped_preferences_do_not_filter_and_answers_join_the_query(shop: Shop) -> None:
    messages, slots = search(shop, search_text="a gift for my sister", product_type=SKIP,
                             category="jewellery", budget=SKIP, recipient="sister",
                             colour="green")
    assert slots["last_search"]["category"] == "jewellery"
    assert slots["last_search"]["min_price"] is None is slots["last_search"]["max_price"]
    assert slots["last_search"]["text"] == "a gift for my sister green jewellery"
    assert messages[0]["custom"]["cards"]


def test_search_relaxes_filters_when_nothing_matches_and_says_so(shop: Shop) -> None:
    messages, _ = search(shop, search_text="a blue paper mug", colour="blue",
                         product_type="mug", material="paper")
    assert messages[0]["text"] == ("I found nothing that is also paper, so here are the "
                                   "closest matches:")
    cards = messages[0]["custom"]["cards"]
    assert cards and all("Mug" in c["name"] for c in cards)


def test_cheaper_lowers_the_ceiling_below_the_middle_shown_price(shop: Shop) -> None:
    _, first = search(shop, search_text="ceramic mugs", product_type="mug")
    prices = [Decimal(p) for p in first["last_search"]["prices"]]
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "cheaper please", "refine_search", slots=first))
    ceiling = median_low(sorted(prices)) - Decimal("0.01")
    assert messages[0]["text"] == f"Here are cheaper pieces, up to {ceiling:.2f} EUR:"
    cards = messages[0]["custom"]["cards"]
    assert cards and all(Decimal(c["price"]) <= ceiling for c in cards)
    assert slots_of(events)["budget"] == f"up to {ceiling} EUR"


def test_in_green_changes_the_colour_of_the_last_search(shop: Shop) -> None:
    _, first = search(shop, search_text="ceramic mug", product_type="mug", colour="blue")
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "in green", "refine_search", [entity("colour", "green")], slots=first))
    assert messages[0]["text"] == "Here they are in green:"
    assert slots_of(events)["last_search"]["attributes"] == {"type": "mug", "colour": "green"}
    assert slots_of(events)["colour"] == "green"
    cards = messages[0]["custom"]["cards"]
    assert len(cards) == 2 and all("Mug" in c["name"] for c in cards)


def test_more_like_the_second_one_searches_near_that_product(shop: Shop) -> None:
    _, first = search(shop, search_text="silver rings", product_type="ring")
    second = first["shown_products"][1]
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "more like the second one", "refine_search", [entity("ordinal", "second")],
        slots=first))
    assert messages[0]["text"] == "Here are more like that one:"
    assert slots_of(events)["last_search"]["like"] == int(second)
    assert second not in [str(c["id"]) for c in messages[0]["custom"]["cards"]]


def test_refining_without_a_search_asks_what_to_look_for(shop: Shop) -> None:
    messages, events = run(ActionRefineSearch(shop.client()), tracker("cheaper", "refine_search"))
    assert [m["response"] for m in messages] == ["utter_nothing_to_refine"] and events == []


def test_show_product_describes_it_with_options_and_remembers_it(shop: Shop) -> None:
    query = SearchQuery(text="silver stacking ring", attributes={"type": "ring"})
    ring = asyncio.run(shop.client().search(query))[0]
    messages, events = run(ActionShowProduct(shop.client()), tracker(
        "/product_details", "product_details", [entity("product_id", str(ring.id))]))
    assert slots_of(events) == {"product_id": str(ring.id)}
    assert messages[0]["text"].startswith(f"{ring.name} — {ring.price} EUR.")
    assert "personalised" in messages[0]["text"]
    assert [b["title"] for b in messages[0]["buttons"]] == ["Personalise", "Add to cart"]


def test_the_second_shown_product_is_described(shop: Shop) -> None:
    _, first = search(shop, search_text="mugs", product_type="mug")
    messages, events = run(ActionShowProduct(shop.client()), tracker(
        "tell me about the second one", "product_details", [entity("ordinal", "second")],
        slots=first))
    assert slots_of(events) == {"product_id": first["shown_products"][1]}


def test_unknown_product_is_explained(shop: Shop) -> None:
    messages, events = run(ActionShowProduct(shop.client()), tracker(
        "/product_details", "product_details", [entity("product_id", "999999")]))
    assert [m["text"] for m in messages] == ["That product is no longer in the shop, sorry."]
    assert events == []


def test_commerce_api_down_gives_an_apology_and_keeps_the_slots() -> None:
    messages, events = run(ActionSearchProducts(unreachable_client()),
                           tracker("blue mugs", "search_product", slots={"colour": "blue"}))
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert events == []


def test_show_me_more_gives_the_next_products(shop: Shop) -> None:
    _, first = search(shop, search_text="mugs", product_type="mug")
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "show me more", "refine_search", slots=first))
    assert messages[0]["text"] == "Here are some more:"
    shown = slots_of(events)["shown_products"]
    assert shown and not set(shown) & set(first["shown_products"])


def test_a_message_that_changes_nothing_says_how_to_refine(shop: Shop) -> None:
    _, first = search(shop, search_text="mugs", product_type="mug")
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "for me", "inform", slots=first))
    assert [m["response"] for m in messages] == ["utter_how_to_refine"] and events == []
