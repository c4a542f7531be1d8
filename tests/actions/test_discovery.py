"""Discovery actions against the real commerce API app (in process, demo shop on SQLite)."""

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.clients import CommerceClient, SearchQuery
from actions.config import ActionSettings
from actions.discovery import UNAVAILABLE, ActionSearchProducts, ActionShowProduct
from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings


@pytest.fixture
def app(demo_catalog: sessionmaker[Session], tmp_path) -> Iterator[FastAPI]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    with TestClient(app):  # runs the lifespan: the knowledge service is in app.state
        yield app


def client_for(app: FastAPI) -> CommerceClient:
    return CommerceClient(ActionSettings(api_url="http://shop/api"),
                          transport=httpx.ASGITransport(app=app))


def tracker(text: str, entities: list[dict[str, Any]] | None = None,
            slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker(sender_id="shopper-1", slots=slots or {},
                   latest_message={"text": text, "intent": {"name": "search_product"},
                                   "entities": entities or []},
                   events=[], paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


def entity(name: str, value: str) -> dict[str, str]:
    return {"entity": name, "value": value}


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return dispatcher.messages, events


def test_search_shows_cards_of_blue_ceramic_mugs_within_budget(app: FastAPI) -> None:
    # given
    t = tracker("show me blue ceramic mugs under 30 euros", [
        entity("colour", "blue"), entity("material", "ceramic"), entity("product_type", "mug")])
    # when
    messages, events = run(ActionSearchProducts(client_for(app)), t)
    # then
    assert len(messages) == 1
    assert messages[0]["text"] == "Here is what I found:"
    cards = messages[0]["custom"]["cards"]
    assert 1 <= len(cards) <= 6
    for card in cards:
        assert "Mug" in card["name"] and card["currency"] == "EUR"
        assert float(card["price"]) <= 30 and card["price"].count(".") == 1
        assert card["buttons"][0]["payload"] == f'/product_details{{"product_id": "{card["id"]}"}}'
    assert events == [SlotSet("shown_products", [str(c["id"]) for c in cards])]


def test_search_relaxes_filters_when_nothing_matches_and_says_so(app: FastAPI) -> None:
    t = tracker("a blue paper mug", [entity("colour", "blue"), entity("product_type", "mug"),
                                     entity("material", "paper")])
    messages, _ = run(ActionSearchProducts(client_for(app)), t)
    assert messages[0]["text"] == ("I found nothing that is also paper, so here are the "
                                   "closest matches:")
    cards = messages[0]["custom"]["cards"]
    assert cards and all("Mug" in c["name"] for c in cards)


def test_show_product_describes_it_with_options(app: FastAPI) -> None:
    query = SearchQuery(text="silver stacking ring", attributes={"type": "ring"})
    ring = asyncio.run(client_for(app).search(query))[0]
    t = tracker("/product_details", [entity("product_id", str(ring.id))])
    messages, events = run(ActionShowProduct(client_for(app)), t)
    assert events == []
    text = messages[0]["text"]
    assert text.startswith(f"{ring.name} — {ring.price} EUR.")
    assert "personalised" in text


def test_unknown_product_is_explained(app: FastAPI) -> None:
    messages, _ = run(ActionShowProduct(client_for(app)),
                      tracker("/product_details", [entity("product_id", "999999")]))
    assert messages[0]["text"] == "That product is no longer in the shop, sorry."


def test_commerce_api_down_gives_an_apology() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = CommerceClient(ActionSettings(api_url=f"http://127.0.0.1:{port}/api"))
    messages, events = run(ActionSearchProducts(client), tracker("blue mugs"))
    assert [m["text"] for m in messages] == [UNAVAILABLE]
    assert events == []
