"""A shop for back office tests: the real app on the test database (the gateway fixture:
sandbox payments call its own webhook in process, Rasa is stood in for), with accounts and
orders made the way the product makes them (the operator's account code, a shopper's cart,
checkout and card payment)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.agent.auth import create_agent
from commerce_core.models import AgentRole, AuditEntry, Order, Shipment
from tests.channels.conftest import Gateway

SERVICE = {"Authorization": "Bearer change-me"}
OWN = "http://testserver"
EVIL = "https://evil.example"
PASSWORD = "a long owner password"
MUG = "CER-MUG-001"
CARD = {"name": "Ada Lovelace", "number": "4242 4242 4242 4242", "expiry": "12/39",
        "cvc": "123"}
ids = itertools.count(1)


def address(name: str) -> dict[str, str]:
    return {"name": name, "line1": "12 rue des Arts", "city": "Lyon", "postal_code": "69001",
            "country": "FR"}


@dataclass
class BackOffice:
    client: TestClient | httpx.Client
    db: sessionmaker[Session]

    def account(self, role: AgentRole, name: str = "Olga") -> str:
        email = f"{name.lower()}{next(ids)}@shop.example"
        with self.db() as session:
            create_agent(session=session, email=email, name=name, password=PASSWORD,
                         role=role)
            session.commit()
        return email

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.client.post("/merchant/login", headers={"Origin": OWN},
                                data={"email": email, "password": password},
                                follow_redirects=False)

    def owner(self, name: str = "Olga") -> str:
        email = self.account(AgentRole.OWNER, name)
        assert self.sign_in(email).status_code == 303
        return email

    def post(self, path: str, origin: str | None = OWN, **fields: str) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        return self.client.post(path, headers=headers, data=fields, follow_redirects=False)

    def place_order(self, shopper: str = "ada", name: str = "Ada Lovelace", sku: str = MUG,
                    **options: Any) -> dict[str, Any]:
        added = self.client.post(f"/api/shoppers/web/{shopper}/cart/lines", headers=SERVICE,
                                 json={"sku": sku, "quantity": 1, "options": options})
        assert added.status_code == 201, added.text
        order = self.client.post(f"/api/shoppers/web/{shopper}/checkout", headers=SERVICE,
                                 json={"email": f"{shopper}@example.com",
                                       "address": address(name)})
        assert order.status_code == 201, order.text
        return order.json()

    def paid_order(self, shopper: str = "ada", name: str = "Ada Lovelace", sku: str = MUG,
                   **options: Any) -> dict[str, Any]:
        order = self.place_order(shopper, name, sku, **options)
        link = self.client.post(f"/api/orders/{order['id']}/payment",
                                headers={**SERVICE, "Idempotency-Key": f"pay-{order['id']}"})
        assert link.status_code == 201, link.text
        paid = self.client.post(httpx.URL(link.json()["url"]).path, data=CARD)
        assert paid.status_code == 200, paid.text
        assert self.order(order["number"]).status.value == "paid"
        return order

    def order(self, number: str) -> Order:
        with self.db() as session:
            order = session.scalar(select(Order).where(Order.number == number))
            assert order is not None
            return order

    def audit(self) -> list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]:
        with self.db() as session:
            return [(e.actor_email, e.action, e.target, e.before, e.after)
                    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]

    def delivered_order(self, shopper: str) -> dict[str, Any]:
        """A paid order shipped by the owner three days ago, its parcel now delivered."""
        order = self.paid_order(shopper)
        assert self.post(f"/merchant/orders/{order['number']}/ship").status_code == 303
        with self.db() as session:
            shipment = session.scalar(select(Shipment).where(
                Shipment.order_id == order["id"]))
            assert shipment is not None
            shipment.shipped_at -= timedelta(days=3)
            session.commit()
        tracked = self.client.get(f"/api/orders/{order['id']}/shipment", headers=SERVICE)
        assert tracked.json()["status"] == "delivered", tracked.text
        return order

    def ask_return(self, shopper: str, number: str, reason: str = "too small") -> None:
        asked = self.client.post(f"/api/shoppers/web/{shopper}/orders/{number}/return",
                                 headers=SERVICE, json={"reason": reason})
        assert asked.status_code == 200, asked.text


@pytest.fixture(name="shop")
def shop_fixture(demo_catalog: sessionmaker[Session], gateway: Gateway) -> Iterator[BackOffice]:
    with gateway() as client:
        yield BackOffice(client=client, db=demo_catalog)
