"""Discovery actions against the real commerce API app (in process, demo shop on SQLite)."""

import asyncio
from collections.abc import Callable
from decimal import Decimal
from statistics import median_low

import pytest
from rasa_sdk.events import SlotSet

from actions.cart import ActionAddToCart
from actions.clients import Interpretation, SearchQuery
from actions.clients.models import Understood
from actions.common import SKIP
from actions.discovery import ActionRefineSearch, ActionSearchProducts, ActionShowProduct
from actions.fallback import ActionFallback
from actions.faq import ActionAnswerFaq
from actions.preferences import ActionResetPreferences
from actions.search_replies import described, plural
from tests.actions.shopping_helpers import (
    Shop,
    entity,
    run,
    slots_of,
    tracker,
    unreachable_client,
)
from tests.actions.wording import UNAVAILABLE
from tests.conftest import demo_faq_answer

BOARD = {
    "name": "Ridgeway Grazing Board", "category": "woodwork",
    "description": "One long plank for a spread of cheese, bread and fruit, oiled by hand.",
    "attributes": {"type": "board", "material": "walnut", "colour": "brown"},
    "variants": [{"sku": "WDW-RDG-001", "price": "75.00", "stock": 4}],
}


def search(shop: Shop, **slots: object) -> tuple[list[dict], dict]:
    messages, events = run(ActionSearchProducts(shop.client()),
                           tracker("show me", "search_product", slots=dict(slots)))
    return messages, slots_of(events)


def ask(shop: Shop, text: str) -> tuple[list[dict], dict]:
    """A new request as the bot handles it: the preferences are reset from what the
    message says (no NLU entities: the model knows none of these words), then searched."""
    _, reset = run(ActionResetPreferences(shop.client()), tracker(text, "search_product"))
    slots = slots_of(reset)
    assert slots["needs_preferences"] is False, slots
    messages, events = run(ActionSearchProducts(shop.client()),
                           tracker(text, "search_product", slots=slots))
    return messages, {**slots, **slots_of(events)}


def refine(shop: Shop, text: str, slots: dict, entities: list | None = None
           ) -> tuple[list[dict], dict]:
    messages, events = run(ActionRefineSearch(shop.client()),
                           tracker(text, "refine_search", entities, slots=slots))
    return messages, {**slots, **slots_of(events)}


def test_a_product_added_through_the_merchant_api_is_found_without_retraining(
        shop: Shop) -> None:
    # given: a type ("board") that no product had when the model was trained
    board = shop.create_product(BOARD)
    # when
    messages, slots = ask(shop, "a walnut cheese board")
    # then
    assert (slots["product_type"], slots["material"]) == ("cheese board", "walnut")
    assert messages[0]["text"] == "Here is a walnut cheese board, and some close matches:"
    cards = messages[0]["custom"]["cards"]
    assert cards[0]["id"] == board and len(cards) == 6
    assert slots["last_search"]["applied"]["attributes"] == {
        "material": "walnut", "type": "cheese board,board"}


@pytest.mark.parametrize("text", ["the Ridgeway Grazing Board", "do you have the ridgway board?"])
def test_a_new_product_is_found_first_by_its_name(shop: Shop, text: str) -> None:
    board = shop.create_product(BOARD)
    messages, _ = ask(shop, text)
    assert messages[0]["text"] == ("Here is Ridgeway Grazing Board, and a few others you may "
                                   "like:")
    assert messages[0]["custom"]["cards"][0]["id"] == board


@pytest.mark.parametrize("text", ["show me the Blue Willow mug", "do you have the blue wilow mug?",
                                  "Blue Willow Ceramic Mug"])
def test_asking_by_name_shows_that_product_first(shop: Shop, text: str) -> None:
    messages, slots = ask(shop, text)
    assert messages[0]["text"] == ("Here is Blue Willow Ceramic Mug, and a few others you may "
                                   "like:")
    cards = messages[0]["custom"]["cards"]
    assert cards[0]["sku"] == "CER-MUG-004" and len(cards) == 6
    assert slots["shown_products"][0] == str(shop.sku_id("CER-MUG-004"))
    # "add it to my cart" next means the piece asked for
    assert slots["product_id"] == str(shop.sku_id("CER-MUG-004"))


def test_a_new_search_forgets_the_piece_looked_at_before(shop: Shop) -> None:
    # given: a ring was looked at, then vases were searched for
    ring = str(shop.sku_id("JWL-RNG-013"))
    messages, events = run(ActionSearchProducts(shop.client()), tracker(
        "do you have any vases", "search_product",
        slots={"search_text": "vases", "product_id": ring}))
    slots = {"product_id": ring, **slots_of(events)}
    assert slots["product_id"] is None and len(slots["shown_products"]) > 1
    # when: "add it to my cart" with the vases on screen
    messages, events = run(ActionAddToCart(shop.client()),
                           tracker("add it to my cart", "add_to_cart", slots=slots))
    # then: which vase, not the ring
    assert messages[0]["text"].startswith("Which one should I add?"), messages
    assert events == []


def test_a_product_asked_about_by_name_is_described(shop: Shop) -> None:
    # given: other products are on screen and another one was looked at last
    _, first = search(shop, search_text="silver rings")
    messages, events = run(ActionShowProduct(shop.client()), tracker(
        "tell me more about the blue willow mug", "product_details",
        slots={**first, "product_id": first["shown_products"][0]}))
    willow = str(shop.sku_id("CER-MUG-004"))
    assert slots_of(events) == {"product_id": willow}
    assert messages[0]["text"].startswith("Blue Willow Ceramic Mug — 24.00 EUR. Sold out")


@pytest.mark.parametrize(("text", "said"), [
    ("a birthday present for my sister, she loves gardening",
     "pieces, the birthday ones ranked higher"),
    ("a birthday present for my sister", "pieces, the birthday ones first")])
def test_an_occasion_ranked_after_what_the_piece_is_about_is_said_so(
        shop: Shop, text: str, said: str) -> None:
    page = asyncio.run(shop.client().search_page(SearchQuery(text=text, interpret=True)))
    assert described(page.interpretation, many=True) == said


def test_the_intro_says_what_was_searched_for(shop: Shop) -> None:
    messages, slots = ask(shop, "show me blue ceramic mugs under 40 euros")
    assert messages[0]["text"] == "Here are blue ceramic mugs up to 40.00 EUR:"
    cards = messages[0]["custom"]["cards"]
    assert cards and all(Decimal(c["price"]) <= 40 for c in cards)
    messages, _ = ask(shop, "vintage posters")
    assert messages[0]["text"] == "Here are posters, the vintage ones first:"
    messages, _ = ask(shop, "candles")
    assert messages[0]["text"] == "Here are candles:"
    # a category that is no plural noun is said of pieces
    messages, _ = ask(shop, "anything in leather under 40")
    assert messages[0]["text"] == "Here are leather pieces up to 40.00 EUR:"
    messages, _ = ask(shop, "jewellery")
    assert messages[0]["text"] == "Here are jewellery pieces:"

    messages, _ = ask(shop, "anything with birds on it under 30")
    assert messages[0]["text"] == ('Here are pieces up to 30.00 EUR, those closest to '
                                   '"birds" first:')
    assert messages[0]["custom"]["cards"][0]["name"] == "Carved Wooden Bird Ornament"
    messages, _ = ask(shop, "earrings that are light, my ears are sensitive")
    assert messages[0]["text"] == "Here are earrings:"  # the kind of piece says enough


@pytest.mark.parametrize(("category", "said"), [
    ("candles", "candles"), ("leather", "leather pieces"), ("glass", "glass pieces")])
def test_a_category_is_said_as_a_plural_noun_or_of_pieces(category: str, said: str) -> None:
    reading = Interpretation(understood=[Understood(name="category", value=category)])
    assert described(reading, many=True) == said


def test_search_shows_cards_of_blue_ceramic_mugs_within_budget(shop: Shop) -> None:
    # given: the slots of "show me blue ceramic mugs under 30 euros"
    messages, slots = search(shop, search_text="show me blue ceramic mugs under 30 euros",
                             colour="blue", material="ceramic", product_type="mug",
                             budget="up to 30 EUR")
    # then
    assert len(messages) == 1
    assert messages[0]["text"] == "Here are blue ceramic mugs up to 30.00 EUR:"
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
    assert last["applied"]["attributes"] == {"type": "mug", "colour": "blue",
                                             "material": "ceramic"}
    assert last["max_price"] == "30" and last["prices"] == [c["price"] for c in cards]
    assert last["interpret"] is True and last["attributes"] == {}  # the shop read the words


def test_skipped_preferences_do_not_filter_and_answers_join_the_query(shop: Shop) -> None:
    messages, slots = search(shop, search_text="a gift for my sister", product_type=SKIP,
                             category="jewellery", budget=SKIP, recipient="sister",
                             colour="green")
    assert slots["last_search"]["applied"]["category"] == "jewellery"
    assert slots["last_search"]["applied"]["attributes"] == {"colour": "green"}
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
    assert messages[0]["text"] == f"Here are cheaper ones, up to {ceiling:.2f} EUR:"
    cards = messages[0]["custom"]["cards"]
    assert cards and all(Decimal(c["price"]) <= ceiling for c in cards)
    assert slots_of(events)["budget"] == f"up to {ceiling} EUR"


@pytest.mark.parametrize(("said", "intro", "within"), [
    ("under 30", "Here they are up to 30.00 EUR:", lambda price: price <= 30),
    ("any above 35?", "Here they are from 35.00 EUR:", lambda price: price >= 35),
    ("more expensive ones", "Here are pricier ones, above ", lambda price: True),
])
def test_a_price_given_after_a_search_keeps_what_was_searched(
        shop: Shop, said: str, intro: str, within: Callable[[Decimal], bool]) -> None:
    _, first = search(shop, search_text="ceramic mugs", product_type="mug")
    messages, slots = refine(shop, said, first)
    assert messages[0]["text"].startswith(intro), messages[0]["text"]
    cards = messages[0]["custom"]["cards"]
    assert cards and all("Mug" in c["name"] and within(Decimal(c["price"])) for c in cards)


def test_cheaper_after_a_budget_stays_within_it(shop: Shop) -> None:
    _, first = ask(shop, "jewellery under 60 euros")
    prices = sorted(Decimal(p) for p in first["last_search"]["prices"])
    messages, slots = refine(shop, "show me cheaper ones", first)
    ceiling = min(median_low(prices) - Decimal("0.01"), Decimal("60"))
    assert messages[0]["text"] == f"Here are cheaper ones, up to {ceiling:.2f} EUR:"
    cards = messages[0]["custom"]["cards"]
    assert cards and all(Decimal(c["price"]) <= ceiling for c in cards)
    assert slots["last_search"]["applied"]["category"] == "jewellery"


def test_in_green_changes_the_colour_of_the_last_search(shop: Shop) -> None:
    _, first = search(shop, search_text="ceramic mug", product_type="mug", colour="blue")
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "in green", "refine_search", [entity("colour", "green")], slots=first))
    assert messages[0]["text"] == "Here they are in green:"
    last = slots_of(events)["last_search"]
    assert last["attributes"] == last["applied"]["attributes"] == {
        "material": "ceramic", "type": "mug", "colour": "green"}
    assert slots_of(events)["colour"] == "green"
    cards = messages[0]["custom"]["cards"]  # the one green ceramic mug, shown in green
    assert [(c["name"], c["sku"]) for c in cards] == [("Everyday Ceramic Mug", "CER-MUG-012")]


def test_a_refinement_the_model_did_not_tag_is_read_from_the_catalog(shop: Shop) -> None:
    # given: "ceramic mugs" shown; the NLU found no entity in the refinement
    _, first = ask(shop, "ceramic mugs")
    # when
    messages, slots = refine(shop, "have you got them in stoneware?", first)
    # then
    assert messages[0]["text"] == "Here they are in stoneware:"
    cards = messages[0]["custom"]["cards"]
    assert cards and all(c["sku"].startswith("CER-MUG") for c in cards)
    assert slots["last_search"]["applied"]["attributes"]["material"] == "stoneware"
    assert slots["material"] == "stoneware"


def test_more_like_the_second_one_searches_near_that_product(shop: Shop) -> None:
    _, first = search(shop, search_text="silver rings", product_type="ring")
    second = first["shown_products"][1]
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "more like the second one", "refine_search", [entity("ordinal", "second")],
        slots=first))
    assert messages[0]["text"] == "Here are more like that one:"
    assert slots_of(events)["last_search"]["like"] == int(second)
    assert second not in [str(c["id"]) for c in messages[0]["custom"]["cards"]]


def test_one_pair_of_earrings_is_not_said_as_a_earrings(shop: Shop) -> None:
    # the demo shop has one pair of silver earrings
    messages, _ = ask(shop, "silver earrings")
    assert messages[0]["text"] == "Here are silver earrings, and some close matches:"
    assert [plural(n) for n in ("mug", "glass", "earrings", "ceramics", "box", "scarf")] == [
        "mugs", "glasses", "earrings", "ceramics", "boxes", "scarves"]


def test_the_second_one_alone_shows_that_card_not_more_like_it(shop: Shop) -> None:
    _, first = search(shop, search_text="mugs", product_type="mug")
    second = first["shown_products"][1]
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "the second one", "inform", [entity("ordinal", "second")], slots=first))
    assert slots_of(events)["product_id"] == second
    assert messages[0]["response"] in ("utter_product_in_stock", "utter_product_sold_out")
    assert "last_search" not in slots_of(events)  # no new search


def test_more_like_a_product_named_in_the_message(shop: Shop) -> None:
    _, first = search(shop, search_text="silver rings", product_type="ring")
    messages, slots = refine(shop, "anything similar to the blue willow mug?", first)
    willow = shop.sku_id("CER-MUG-004")
    assert messages[0]["text"] == "Here are more like that one:"
    assert slots["last_search"]["like"] == willow
    assert str(willow) not in slots["shown_products"]
    cards = messages[0]["custom"]["cards"]
    assert sum("Mug" in c["name"] for c in cards) >= 3  # near the mug, not the rings


@pytest.mark.parametrize("text", ["cheaper", "what about something in green?",
                                  "do you have it in walnut?"])
def test_refining_without_a_search_asks_what_to_look_for(shop: Shop, text: str) -> None:
    messages, events = run(ActionRefineSearch(shop.client()), tracker(text, "refine_search"))
    assert [m["response"] for m in messages] == ["utter_nothing_to_refine"] and events == []


def test_whom_a_piece_is_for_with_no_search_yet_starts_one(shop: Shop) -> None:
    """Not "tell me what you are looking for first": the search of what was said."""
    t = tracker("my best friend just had a baby girl", "inform",
                [entity("recipient", "best friend")])
    messages, events = run(ActionRefineSearch(shop.client(), shop.knowledge()), t)
    cards = messages[0]["custom"]["cards"]
    assert cards and any("Baby" in c["name"] for c in cards[:3]), [c["name"] for c in cards]
    assert slots_of(events)["last_search"]["text"] == "my best friend just had a baby girl"


@pytest.mark.parametrize("text", ["whats your instagram", "where can i follow you?"])
def test_a_question_naming_nothing_of_the_catalog_is_outside_the_shop(
        shop: Shop, text: str) -> None:
    """Read as a preference with no search to narrow, a question that names no piece is
    answered as one outside the shop's scope, not with "tell me what you are looking
    for first"."""
    messages, events = run(ActionRefineSearch(shop.client(), shop.knowledge()),
                           tracker(text, "inform"))
    assert [m["response"] for m in messages] == ["utter_out_of_scope"] and events == []


@pytest.mark.parametrize(("text", "expected"), [("do you sell terrariums?", "Terrarium"),
                                              ("show me homeware", None)])
def test_a_request_to_see_pieces_the_model_was_unsure_of_is_searched(
        shop: Shop, text: str, expected: str | None) -> None:
    """"show me homeware", which the model could not place, shows what the catalog's
    search makes of it instead of "did you want to…?"."""
    messages, events = run(ActionFallback(shop.knowledge(), commerce=shop.client()),
                           tracker(text, "nlu_fallback", confidence=0.3))
    cards = messages[0]["custom"]["cards"]
    assert len(cards) == 6, messages
    if expected:
        assert expected in cards[0]["name"], cards
    slots = slots_of(events)
    assert slots["last_search"]["text"] == text and slots["fallback_count"] == 0.0


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


def test_a_question_about_no_product_in_particular_is_answered_from_the_faq(
        shop: Shop) -> None:
    messages, events = run(ActionShowProduct(shop.client(), shop.knowledge()),
                           tracker("is it all made by hand?", "product_details"))
    assert [m["text"][:51] for m in messages] == [
        "Yes! Everything is made by a small team of makers i"]
    assert events == [SlotSet("faq_candidates", None), SlotSet("handoff_offer", None)]


@pytest.mark.parametrize(("text", "said"), [
    ("is it dishwasher safe?", ["Dishwasher safe, though the glaze keeps its shine longer if "
                                "you wash it by hand."]),
    ("what is it made of?", ["Material: ceramic."]),
    ("how big is the mug?", ["Size: 350 ml."]),
    ("whats the price of the first one", ["Price: 32.00 EUR."]),
    ("can it be engraved?", ["It can be personalised: Glaze colour; Hand-painted inscription; "
                             "Real gold lustre rim; Gift box with tissue and card."]),
])
def test_a_question_about_the_product_is_answered_from_its_listing(
        shop: Shop, text: str, said: list[str]) -> None:
    mug = str(shop.sku_id("CER-MUG-001"))
    messages, events = run(ActionShowProduct(shop.client(), shop.knowledge()), tracker(
        text, "product_details", slots={"product_id": mug}))
    [message] = messages
    assert message["text"].split("\n") == [
        "Hand-Thrown Ceramic Mug — Cobalt Blue — from its listing:", *said]
    assert [b["title"] for b in message["buttons"]] == ["Personalise", "Add to cart"]
    assert events == [SlotSet("product_id", mug)]


def test_a_question_about_the_cards_on_screen_compares_their_listings(shop: Shop) -> None:
    # given: vases on screen, none looked at
    _, slots = ask(shop, "vases")
    # when
    messages, events = run(ActionShowProduct(shop.client(), shop.knowledge()), tracker(
        "whats the tallest one", "product_details", slots=slots))
    # then: the size of each card whose listing gives one (one vase has none)
    [said] = [m["text"] for m in messages]
    lines = said.split("\n")
    assert lines[0] == "From their listings:" and len(lines) > 3, said
    assert "Pink Bubble Vase: Size: 15 cm." in lines, said
    assert all(": Size: " in line or ": Sizes: " in line for line in lines[1:]), said
    assert events == []


def test_what_the_listing_does_not_say_goes_to_the_faq_or_a_person(shop: Shop) -> None:
    mug = str(shop.sku_id("CER-MUG-001"))
    # "made by hand" is not in the listing; the FAQ says it
    messages, events = run(ActionShowProduct(shop.client(), shop.knowledge()), tracker(
        "is it all made by hand?", "product_details", slots={"product_id": mug}))
    assert [m["text"][:51] for m in messages] == [
        "Yes! Everything is made by a small team of makers i"]
    assert SlotSet("product_id", mug) in events
    # neither the listing nor the FAQ says: no guess, a person is offered
    messages, _ = run(ActionShowProduct(shop.client(), shop.knowledge()), tracker(
        "does it come with a matching saucer?", "product_details", slots={"product_id": mug}))
    assert [m["text"] for m in messages] == [
        "The listing for Hand-Thrown Ceramic Mug — Cobalt Blue doesn't say, and I'd rather "
        "not guess. A person from the shop can tell you."]
    assert messages[0]["buttons"][0]["payload"] == "/request_human"


@pytest.mark.parametrize("text", ["tell me more about it",
                                  "what are your opening hours on sunday?"])
def test_without_a_product_or_an_faq_answer_it_asks_which_product(shop: Shop,
                                                                  text: str) -> None:
    messages, events = run(ActionShowProduct(shop.client(), shop.knowledge()),
                           tracker(text, "product_details"))
    assert [m.get("response") for m in messages] == ["utter_which_product_to_show"]
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


def test_show_me_more_pages_on_without_repeats_and_says_when_there_is_no_more(
        shop: Shop) -> None:
    # given
    messages, slots = ask(shop, "ceramic mugs")
    seen = list(slots["shown_products"])
    mugs = {str(r["id"]) for r in shop.http.get(
        "/api/products/search", headers={"Authorization": "Bearer change-me"},
        params={"q": "", "limit": "100", "attr.type": "mug", "attr.material": "ceramic"},
    ).json()["results"]}
    # when: "show me more" until the bot says there is nothing more
    for _ in range(10):
        messages, events = run(ActionRefineSearch(shop.client()), tracker(
            "show me more", "refine_search", slots=slots))
        if not events:
            break
        assert messages[0]["text"] == "Here are some more:"
        slots = {**slots, **slots_of(events)}
        page = slots["shown_products"]
        assert page and not set(page) & set(seen)  # never the same cards again
        seen += page
    # then: every ceramic mug was shown once, then the bot said so
    assert sorted(seen) == sorted(mugs) and len(mugs) > 12
    assert [m["text"] for m in messages] == [
        "That's everything I have for ceramic mugs. Tell me what else you'd like, or change "
        "the search (\"cheaper\", \"in green\")."]


def test_a_message_that_changes_nothing_says_how_to_refine(shop: Shop) -> None:
    _, first = search(shop, search_text="mugs", product_type="mug")
    messages, events = run(ActionRefineSearch(shop.client()), tracker(
        "for me", "inform", slots=first))
    assert [m["response"] for m in messages] == ["utter_how_to_refine"] and events == []


@pytest.mark.parametrize("question", ["do you have the Blue Willow mug?",
                                      "is the blue willow mug available?"])
def test_asking_whether_the_shop_has_a_product_it_names_shows_it(shop: Shop,
                                                                 question: str) -> None:
    # given the question read as a FAQ, in a conversation with an older search
    t = tracker(question, "faq", slots={"search_text": "green candles"})
    # when
    messages, events = run(ActionAnswerFaq(commerce=shop.client()), t)
    # then the product is shown, not an answer about something else
    assert messages[0]["custom"]["cards"][0]["name"] == "Blue Willow Ceramic Mug"
    assert slots_of(events)["shown_products"][0] == str(shop.sku_id("CER-MUG-004"))


@pytest.mark.parametrize(("question", "sku_part"), [
    ("do you do custom name necklaces?", "-NCK-"), ("do you sell candles", "CND-")])
def test_asking_for_a_kind_of_piece_the_faq_does_not_answer_shows_those_pieces(
        shop: Shop, question: str, sku_part: str) -> None:
    messages, _ = run(ActionAnswerFaq(shop.knowledge(), shop.client()),
                      tracker(question, "faq"))
    cards = messages[0]["custom"]["cards"]
    assert cards and all(sku_part in c["sku"] for c in cards), [c["sku"] for c in cards]


def test_a_do_you_question_the_faq_answers_is_answered(shop: Shop) -> None:
    messages, _ = run(ActionAnswerFaq(shop.knowledge(), shop.client()),
                      tracker("do you offer gift wrapping?", "faq"))
    assert messages[0]["text"] == demo_faq_answer("gifts.md", "Do you offer gift wrapping?")
    assert "custom" not in messages[0] or not messages[0]["custom"]


def test_the_cheapest_or_dearest_of_the_cards_on_screen_is_shown(shop: Shop) -> None:
    # given: candles on screen
    _, slots = ask(shop, "candles")
    prices = {pid: Decimal(price) for pid, price in zip(
        slots["shown_products"], slots["last_search"]["prices"], strict=True)}
    assert len(set(prices.values())) > 1
    for text, pick in (("i want the cheapest one", min), ("the most expensive one?", max)):
        # when
        messages, after = refine(shop, text, slots)
        # then: that card's product, not a new search
        chosen = pick(prices, key=lambda pid: prices[pid])
        assert after["product_id"] == chosen
        assert messages[0]["response"] in ("utter_product_in_stock", "utter_product_sold_out")
        assert Decimal(messages[0]["price"]) == prices[chosen]
        assert after["shown_products"] == slots["shown_products"]


def test_the_cheapest_is_one_of_what_was_asked_for_not_a_close_match(shop: Shop) -> None:
    # given: silver rings under 50, with close matches (not rings, or not silver) after them
    _, slots = ask(shop, "silver rings under 50")
    last = slots["last_search"]
    close = set(last["close"])
    assert close and set(slots["shown_products"]) - close, last
    prices = {pid: Decimal(price) for pid, price in zip(
        slots["shown_products"], last["prices"], strict=True)}
    # when
    _, after = refine(shop, "the cheapest one", slots)
    # then: the cheapest of the silver rings
    asked = {pid: price for pid, price in prices.items() if pid not in close}
    assert after["product_id"] == min(asked, key=lambda pid: asked[pid])


def test_sizes_of_the_ring_looked_at_or_of_the_rings_on_screen(shop: Shop) -> None:
    # given: silver rings on screen
    _, slots = ask(shop, "silver rings under 50")
    # "what sizes do they come in?": the sizes in stock of each card made in sizes
    messages, _ = refine(shop, "wat sizes do they come in", slots)
    [said] = [m["text"] for m in messages]
    lines = said.split("\n")
    assert lines[0] == "Sizes in stock:" and len(lines) > 1, said
    assert "Silver Stacking Ring: J, L, N" in lines, said  # its size P is sold out
    # given: the stacking ring looked at
    messages, slots = refine(shop, "the cheapest one", slots)
    assert "\nSizes: J, L, N, P (P sold out).\n" in messages[0]["text"]
    ring = slots["product_id"]
    # "size N": it is in stock, and a button adds that size
    messages, _ = refine(shop, "size N", slots)
    assert messages[0]["text"] == "Silver Stacking Ring is in stock in size N."
    assert messages[0]["buttons"] == [{"title": "Add size N to cart", "payload":
                                       f'/add_to_cart{{"product_id": "{ring}", "size": "n"}}'}]
    # a size it is not made in, and "what sizes?": the sizes in stock, a button each
    messages, _ = refine(shop, "do you have it in size Z", slots)
    assert messages[0]["text"] == ("Size Z isn't in stock for Silver Stacking Ring. "
                                   "In stock: J, L, N.")
    messages, _ = refine(shop, "what sizes has it got?", slots)
    assert messages[0]["text"] == ("Silver Stacking Ring in stock: sizes J, L, N. Pick one "
                                   "to add it to your cart.")
    assert [b["title"] for b in messages[0]["buttons"]] == ["Size J", "Size L", "Size N"]


def test_the_cheapest_is_not_guessed_from_another_searchs_prices(shop: Shop) -> None:
    _, slots = ask(shop, "candles")
    # the cards on screen now came from elsewhere (recommendations), the prices did not
    other = {**slots, "shown_products": list(reversed(slots["shown_products"]))}
    messages, after = refine(shop, "the cheapest one", other)
    assert "product_id" not in after or after["product_id"] is None
    assert messages[0]["response"] == "utter_how_to_refine"


def test_a_refinement_puts_first_what_only_product_names_carry(shop: Shop) -> None:
    # given: earrings on screen, the hoops not first
    _, slots = ask(shop, "earrings")
    # when: "hoops" is no catalog value, only a word of the hoops' name
    messages, after = refine(shop, "what about hoops", slots)
    # then: the same search, the hoops first
    assert messages[0]["text"] == 'Here they are, those closest to "hoops" first:'
    assert messages[0]["custom"]["cards"][0]["name"] == "Hammered Brass Hoop Earrings"
    assert after["last_search"]["applied"]["attributes"] == {"type": "earrings"}
    # and with a value read too, both are applied
    messages, _ = refine(shop, "in gold hoops", slots)
    assert messages[0]["text"] == 'Here they are in gold, those closest to "hoops" first:'
    assert messages[0]["custom"]["cards"][0]["name"] == "Hammered Brass Hoop Earrings"
