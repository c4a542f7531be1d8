"""Helpers for commerce API tests: an app on the test database, auth headers, a shopper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.auth import create_api_key
from commerce_core.models import Variant
from knowledge.config import KnowledgeSettings

SERVICE = {"Authorization": "Bearer change-me"}
ADDRESS = {"name": "Jeanne Martin", "line1": "12 rue des Potiers", "city": "Lyon",
           "postal_code": "69002", "country": "FR"}


@contextmanager
def api(factory: sessionmaker[Session], tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    with TestClient(app) as client:
        yield client


def product_id(factory: sessionmaker[Session], sku: str) -> int:
    with factory() as session:
        return session.scalar(select(Variant.product_id).where(Variant.sku == sku))


def merchant_headers(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        _, key = create_api_key(session=session, name="test")
        session.commit()
    return {"Authorization": f"Bearer {key}"}


class Shopper:
    def __init__(self, client: TestClient, external_id: str, channel: str = "web") -> None:
        self.client, self.base = client, f"/api/shoppers/{channel}/{external_id}"

    def add(self, sku: str, quantity: int = 1, **options: Any) -> Any:
        return self.client.post(f"{self.base}/cart/lines", headers=SERVICE,
                                json={"sku": sku, "quantity": quantity, "options": options})

    def cart(self, country: str = "FR") -> Any:
        return self.client.get(f"{self.base}/cart", headers=SERVICE,
                               params={"country": country})

    def checkout(self, email: str = "jeanne@example.com", **address: str) -> Any:
        return self.client.post(f"{self.base}/checkout", headers=SERVICE,
                                json={"email": email, "address": {**ADDRESS, **address}})

    def order(self, number: str) -> Any:
        return self.client.get(f"{self.base}/orders/{number}", headers=SERVICE)
