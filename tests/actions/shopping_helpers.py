"""The real shop app in process for the shopping actions (discovery, customisation, cart,
checkout), and trackers built the way Rasa sends them."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.clients import CommerceClient
from actions.clients.knowledge import KnowledgeClient
from actions.config import ActionSettings
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.auth import create_api_key
from commerce_core.models import Variant
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from tests.actions.responses import said
from tests.actions.signing import signed_metadata

SERVICE = {"Authorization": "Bearer change-me"}
SHOPPER = "shopper-1"
CART = f"/api/shoppers/web/{SHOPPER}/cart"
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/39",
        "cvc": "123"}


@dataclass
class Shop:
    app: FastAPI
    http: TestClient
    db: sessionmaker[Session]

    def client(self) -> CommerceClient:
        return CommerceClient(ActionSettings(api_url="http://shop/api"),
                              transport=httpx.ASGITransport(app=self.app))

    def knowledge(self) -> KnowledgeClient:
        return KnowledgeClient(ActionSettings(api_url="http://shop/api"),
                               transport=httpx.ASGITransport(app=self.app))

    def sku_id(self, sku: str) -> int:
        """The product id of a variant's SKU."""
        with self.db() as session:
            return int(session.scalars(select(Variant.product_id)
                                       .where(Variant.sku == sku)).one())

    def variant_id(self, sku: str) -> int:
        with self.db() as session:
            return int(session.scalars(select(Variant.id).where(Variant.sku == sku)).one())

    def cart(self) -> dict[str, Any]:
        return self.http.get(CART, headers=SERVICE).json()

    def create_product(self, body: dict[str, Any]) -> int:
        """Create a product through the merchant API, as a merchant's import does; return
        its id once the search index holds it (it is refreshed in the background)."""
        with self.db() as session:
            _, key = create_api_key(session=session, name="test")
            session.commit()
        created = self.http.post("/api/merchant/products", json=body,
                                 headers={"Authorization": f"Bearer {key}"})
        assert created.status_code == 201, created.text
        product = int(created.json()["id"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = self.http.get("/api/products/search", headers=SERVICE,
                                  params={"q": body["name"], "limit": "1"}).json()
            if [r["id"] for r in found["results"]] == [product]:
                return product
            time.sleep(0.2)
        raise AssertionError(f"product {product} never reached the search index")

    def add(self, sku: str, quantity: int = 1, **options: Any) -> dict[str, Any]:
        response = self.http.post(f"{CART}/lines", headers=SERVICE,
                                  json={"sku": sku, "quantity": quantity, "options": options})
        assert response.status_code == 201, response.text
        return response.json()


@cache
def shared_index_dir() -> Path:
    """One search index for the test process: the demo catalog is the same in every test,
    so later apps load it instead of embedding the catalog again."""
    path = Path(tempfile.mkdtemp(prefix="atelier-shopping-index-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def open_shop(demo_catalog: sessionmaker[Session]) -> Iterator[Shop]:
    """For a module's ``shop`` fixture: the app with the demo shop, payments in process."""
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=shared_index_dir()))
    provider = SandboxProvider(transport=httpx.ASGITransport(app=app), backoff_seconds=0.01)
    app.dependency_overrides[get_provider] = lambda: provider
    with TestClient(app) as http:
        yield Shop(app=app, http=http, db=demo_catalog)


def entity(name: str, value: str) -> dict[str, str]:
    return {"entity": name, "value": value}


def tracker(text: str, intent: str, entities: list[dict[str, Any]] | None = None, *,
            slots: dict[str, Any] | None = None, active_loop: str | None = None,
            events: list[dict[str, Any]] | None = None, confidence: float = 0.9) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence},
              "entities": entities or [], "metadata": signed_metadata(SHOPPER)}
    return Tracker(sender_id=SHOPPER, slots=slots or {}, latest_message=latest,
                   events=events or [{"event": "user", "text": text, "parse_data": latest}],
                   paused=False, followup_action=None,
                   active_loop={"name": active_loop} if active_loop else {},
                   latest_action_name="action_listen")


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return said(dispatcher.messages), events


def validate(form: Any, t: Tracker, slot: str, value: Any) -> tuple[list[dict], dict]:
    """Call ``validate_<slot>`` as the form does; returns (messages, slot values)."""
    dispatcher = CollectingDispatcher()
    result = getattr(form, f"validate_{slot}")(value, dispatcher, t, {})
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return said(dispatcher.messages), result


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def unreachable_client() -> CommerceClient:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return CommerceClient(ActionSettings(api_url=f"http://127.0.0.1:{port}/api"))
