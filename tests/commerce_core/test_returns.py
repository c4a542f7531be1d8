"""A shopper asks to return a shipped order: recorded for the team, owner only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.models import OrderStatus
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from tests.commerce_core.test_payments import SERVICE, Shop


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session], tmp_path: Path) -> Iterator[Shop]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    provider = SandboxProvider(transport=httpx.ASGITransport(app=app), backoff_seconds=0.01)
    app.dependency_overrides[get_provider] = lambda: provider
    with TestClient(app) as client:
        yield Shop(client=client, provider=provider, db=demo_catalog)


def paid_order(shop: Shop, key: str, *, ship: bool) -> dict[str, Any]:
    order = shop.place_order()
    shop.pay(shop.payment_link(order["id"], key).json()["url"])
    if ship:
        merchant = {"Authorization": f"Bearer {shop.merchant_key()}"}
        shipped = shop.client.post(f"/api/merchant/orders/{order['id']}/ship", headers=merchant)
        assert shipped.status_code == 200, shipped.text
    return order


def ask_return(shop: Shop, number: str, shopper: str = "alice",
               reason: str = "too small") -> httpx.Response:
    return shop.client.post(f"/api/shoppers/web/{shopper}/orders/{number}/return",
                            headers=SERVICE, json={"reason": reason})


def test_owner_asks_to_return_a_shipped_order_once(shop: Shop) -> None:
    # given
    order = paid_order(shop, "ret-1", ship=True)
    # when
    response = ask_return(shop, order["number"].lower())
    again = ask_return(shop, order["number"])
    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["payment_status"]) == ("shipped", "paid")
    assert body["events"][-1]["type"] == "return_requested"
    assert shop.events(order["id"]).count("return_requested") == 1
    assert (again.status_code, again.json()["error"]["code"]) == (409, "return_pending")


def test_nobody_else_can_ask_to_return_an_order(shop: Shop) -> None:
    order = paid_order(shop, "ret-2", ship=True)
    other = ask_return(shop, order["number"], shopper="mallory")
    wrong = ask_return(shop, "AT-ZZZZZZ")
    assert other.status_code == wrong.status_code == 404
    assert other.json()["error"]["code"] == wrong.json()["error"]["code"] == "order_not_found"
    assert other.json()["error"]["message"] == (f"I can't find an order {order['number']} "
                                                "for you.")
    assert "return_requested" not in shop.events(order["id"])


@pytest.mark.parametrize(("paid", "words"), [(False, "cancel it"), (True, "not been shipped")])
def test_an_order_that_has_not_shipped_is_cancelled_instead(shop: Shop, paid: bool,
                                                            words: str) -> None:
    order = paid_order(shop, "ret-3", ship=False) if paid else shop.place_order()
    response = ask_return(shop, order["number"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "return_not_possible"
    assert words in response.json()["error"]["message"]
    expected = OrderStatus.PAID if paid else OrderStatus.PENDING_PAYMENT
    assert shop.order(order["id"]).status is expected


def test_a_reason_with_control_characters_or_too_long_is_refused(shop: Shop) -> None:
    order = paid_order(shop, "ret-4", ship=True)
    assert ask_return(shop, order["number"], reason="bad\x00").status_code == 422
    assert ask_return(shop, order["number"], reason="x" * 501).status_code == 422
    assert "return_requested" not in shop.events(order["id"])
