"""A real shop app in process for the after-sale, FAQ and handoff actions, and trackers
built from events the way Rasa sends them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.clients.aftersale import AfterSaleClient
from actions.clients.knowledge import KnowledgeClient
from actions.config import ActionSettings
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.auth import create_api_key
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from tests.actions.responses import said
from tests.actions.signing import signed_metadata

SERVICE = {"Authorization": "Bearer change-me"}
SHOPPER = "shopper-1"
ADDRESS = {"name": "Ada Lovelace", "line1": "12 rue des Arts", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/39",
        "cvc": "123"}


@dataclass
class Shop:
    app: FastAPI
    client: TestClient
    db: sessionmaker[Session]

    def order(self, shopper: str = SHOPPER, sku: str = "CER-MUG-001", *, pay: bool = False,
              ship: bool = False, **options: Any) -> dict[str, Any]:
        base = f"/api/shoppers/web/{shopper}"
        added = self.client.post(f"{base}/cart/lines", headers=SERVICE,
                                 json={"sku": sku, "quantity": 1, "options": options})
        assert added.status_code == 201, added.text
        order = self.client.post(f"{base}/checkout", headers=SERVICE,
                                 json={"email": f"{shopper}@example.com", "address": ADDRESS})
        assert order.status_code == 201, order.text
        if pay or ship:
            link = self.client.post(f"/api/orders/{order.json()['id']}/payment",
                                    headers={**SERVICE, "Idempotency-Key": order.json()["number"]})
            assert self.client.post(httpx.URL(link.json()["url"]).path,
                                    data=CARD).status_code == 200
        if ship:
            shipped = self.client.post(f"/api/merchant/orders/{order.json()['id']}/ship",
                                       headers=self.merchant())
            assert shipped.status_code == 200, shipped.text
        return self.client.get(f"{base}/orders/{order.json()['number']}",
                               headers=SERVICE).json()

    def merchant(self) -> dict[str, str]:
        with self.db() as session:
            _, key = create_api_key(session=session, name="test")
            session.commit()
        return {"Authorization": f"Bearer {key}"}

    def aftersale(self) -> AfterSaleClient:
        return AfterSaleClient(ActionSettings(api_url="http://shop/api"),
                               transport=httpx.ASGITransport(app=self.app))

    def knowledge(self) -> KnowledgeClient:
        return KnowledgeClient(ActionSettings(api_url="http://shop/api"),
                               transport=httpx.ASGITransport(app=self.app))


def start_shop(factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Shop]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    provider = SandboxProvider(transport=httpx.ASGITransport(app=app), backoff_seconds=0.01)
    app.dependency_overrides[get_provider] = lambda: provider
    with TestClient(app) as client:
        yield Shop(app=app, client=client, db=factory)


def user(text: str, intent: str, entities: list[dict[str, Any]] | None = None,
         ranking: list[dict[str, Any]] | None = None, *, confidence: float = 0.9
         ) -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence},
             "entities": entities or [], "intent_ranking": ranking or [],
             "metadata": {}}
    return {"event": "user", "text": text, "parse_data": parse}


def bot_turn(action: str, text: str = "…", *, response: str | None = None
             ) -> list[dict[str, Any]]:
    """A turn of the bot; ``response`` is the domain response its message came from."""
    said_by = {"metadata": {"utter_action": response}} if response else {}
    return [{"event": "action", "name": action}, {"event": "bot", "text": text, **said_by},
            {"event": "action", "name": "action_listen"}]


def tracker(*events: dict[str, Any], slots: dict[str, Any] | None = None,
            active_loop: dict[str, Any] | None = None, sender: str = SHOPPER) -> Tracker:
    """A tracker whose latest message is the last user event of ``events``, with the
    shopper the gateway signed (the conversation's own)."""
    latest = next(e for e in reversed(events) if e["event"] == "user")["parse_data"]
    latest = {**latest, "metadata": signed_metadata(sender)}
    return Tracker(sender_id=sender, slots=slots or {}, latest_message=latest,
                   events=list(events), paused=False, followup_action=None,
                   active_loop=active_loop or {}, latest_action_name="action_listen")


def entity(name: str, value: str) -> dict[str, str]:
    return {"entity": name, "value": value}


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    return said(dispatcher.messages), events


def down_settings() -> ActionSettings:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return ActionSettings(api_url=f"http://127.0.0.1:{port}/api")

