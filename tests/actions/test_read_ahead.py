"""A search turn asks the shop once: the page ``action_reset_preferences`` searched ahead
is the one ``action_search_products`` shows in the same turn, with the same answers; any
other turn, conversation or search asks the shop itself."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker

from actions.clients import CommerceClient, SearchPage, SearchQuery
from actions.common import bind_turn
from actions.config import ActionSettings
from actions.discovery import ActionSearchProducts
from actions.preferences import ActionResetPreferences
from actions.read_ahead import ReadAhead
from tests.actions.shopping_helpers import Shop, entity, run, slots_of, tracker

MUGS = "show me blue ceramic mugs"
MUGS_ENTITIES = [entity("colour", "blue"), entity("material", "ceramic"),
                 entity("product_type", "mugs")]


class CountingTransport(httpx.ASGITransport):
    """The app in process, and the calls made to it."""

    def __init__(self, app: Any) -> None:
        super().__init__(app=app)
        self.calls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        return await super().handle_async_request(request)


def in_turn(t: Tracker, turn: str) -> Tracker:
    """``t`` as Rasa sends it in the turn the gateway gave the request id ``turn``."""
    t.latest_message["metadata"] = {**t.latest_message["metadata"], "request_id": turn}
    return t


def search_turn(shop: Shop, text: str, entities: list, *, turns: tuple[str, str]
                ) -> tuple[list[str], list[dict], list[dict], dict]:
    """A new search as the bot runs it: the preferences reset, then the search (each in
    the turn named); the calls made to the shop, the answers, each action's events."""
    transport = CountingTransport(shop.app)
    client = CommerceClient(ActionSettings(api_url="http://shop/api"), transport=transport)
    _, reset = run(ActionResetPreferences(client),
                   in_turn(tracker(text, "search_product", entities), turns[0]))
    slots = slots_of(reset)
    assert slots["needs_preferences"] is False, slots
    messages, found = run(ActionSearchProducts(client),
                          in_turn(tracker(text, "search_product", entities, slots=slots),
                                  turns[1]))
    return transport.calls, messages, reset, {**slots, **slots_of(found)}


def test_a_search_turn_asks_the_shop_once_and_answers_the_same(shop: Shop) -> None:
    # given: the two actions in one turn, and in two turns (nothing read ahead is shown)
    turn = uuid.uuid4().hex
    calls, messages, reset, slots = search_turn(shop, MUGS, MUGS_ENTITIES, turns=(turn, turn))
    apart = search_turn(shop, MUGS, MUGS_ENTITIES,
                        turns=(uuid.uuid4().hex, uuid.uuid4().hex))
    # then: one call, the search; the same answers and slots as two calls give
    assert calls == ["GET /api/products/search"]
    assert apart[0] == ["GET /api/products/search", "GET /api/products/search"]
    assert (messages, reset, slots) == apart[1:]
    assert messages[0]["text"] == "Here are blue ceramic mugs:"


@pytest.mark.parametrize(("text", "found", "calls", "searched"), [
    # the NLU found the mugs; the shop also reads "gray" as the colour "grey", which the
    # search adds to the words: the search shows its own page, not the one read ahead
    ("show me gray mugs", "mugs", ["GET /api/products/search", "GET /api/products/search"],
     "show me gray mugs grey"),
    # the NLU read "scarves" as the type "scarf", which the search adds to the words: read,
    # then searched, as without a search ahead (one query embedding)
    ("show me wool scarves", "scarf",
     ["POST /api/products/interpret", "GET /api/products/search"],
     "show me wool scarves scarf"),
])
def test_a_search_the_preferences_add_words_to_is_searched_after_the_reading(
        shop: Shop, text: str, found: str, calls: list[str], searched: str) -> None:
    turn = uuid.uuid4().hex
    made, messages, _, slots = search_turn(shop, text, [entity("product_type", found)],
                                           turns=(turn, turn))
    assert made == calls
    assert slots["last_search"]["text"] == searched and messages[0]["custom"]["cards"]


def test_a_request_the_form_completes_is_only_read(shop: Shop) -> None:
    transport = CountingTransport(shop.app)
    client = CommerceClient(ActionSettings(api_url="http://shop/api"), transport=transport)
    _, events = run(ActionResetPreferences(client), in_turn(tracker(
        "a gift for my sister", "search_product", [entity("recipient", "sister")]),
        uuid.uuid4().hex))
    assert slots_of(events)["needs_preferences"] is True
    assert transport.calls == ["POST /api/products/interpret"]


def test_a_page_read_ahead_is_taken_once_in_its_turn_and_conversation() -> None:
    pages = ReadAhead()
    query = SearchQuery(text=MUGS, interpret=True)
    other = query.model_copy(update={"limit": 3})
    page = SearchPage(results=[])

    def in_a_turn(turn: str, conversation: str, wanted: SearchQuery) -> SearchPage | None:
        bind_turn(in_turn(tracker("x", "search_product"), turn))
        return pages.take(conversation, wanted)

    async def scenario() -> list[SearchPage | None]:
        turn = uuid.uuid4().hex
        bind_turn(in_turn(tracker("x", "search_product"), turn))
        pages.keep("c1", query, page)
        return [in_a_turn(uuid.uuid4().hex, "c1", query), in_a_turn(turn, "c2", query),
                in_a_turn(turn, "c1", other), in_a_turn(turn, "c1", query),
                in_a_turn(turn, "c1", query)]

    assert asyncio.run(scenario()) == [None, None, None, page, None]
