"""Order events after commit (contract 5): who to tell and what happened, nothing on rollback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from commerce_core import clock
from commerce_core.events import DomainEvent, subscribe
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import mark_paid
from commerce_core.shipment.service import ship
from tests.commerce_core.helpers import Shopper, api

KINDS = ("order.paid", "order.shipped", "order.delivered", "order.cancelled", "order.refunded")


@pytest.fixture
def events() -> Iterator[list[DomainEvent]]:
    seen: list[DomainEvent] = []
    unsubscribe = [subscribe(kind, seen.append) for kind in KINDS]
    yield seen
    for undo in unsubscribe:
        undo()


def test_paid_and_shipped_carry_the_order_and_the_customer_identities(
        demo_catalog: sessionmaker[Session], tmp_path: Path, events: list[DomainEvent]) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "web-ev1")
        assert shopper.add("CER-MUG-001").status_code == 201
        order = shopper.checkout().json()
    with demo_catalog() as session:  # what the payment webhook and the merchant's ship do
        stored = OrderRepository(session).get(order["id"])
        assert stored is not None
        mark_paid(session=session, order=stored, payment_ref="sandbox:pay_1")
        session.commit()
        shipment = ship(session=session, order=stored, now=clock.now())
        session.commit()
    paid, shipped = events
    common = {"order_id": order["id"], "number": order["number"], "total": order["total"],
              "currency": "EUR", "identities": [{"channel": "web", "external_id": "web-ev1"}]}
    assert paid.kind == "order.paid" and paid.data.items() >= common.items()
    assert isinstance(paid.data["customer_id"], int)
    assert shipped.kind == "order.shipped" and shipped.data.items() >= common.items()
    assert (shipped.data["carrier"], shipped.data["tracking_number"],
            shipped.data["tracking_url"]) == ("simulated", shipment.tracking_number, None)


def test_a_rolled_back_change_tells_nobody(demo_catalog: sessionmaker[Session],
                                           tmp_path: Path, events: list[DomainEvent]) -> None:
    with api(demo_catalog, tmp_path) as client:
        shopper = Shopper(client, "web-ev2")
        shopper.add("CER-MUG-001")
        order = shopper.checkout().json()
    with demo_catalog() as session:
        stored = OrderRepository(session).get(order["id"])
        assert stored is not None
        mark_paid(session=session, order=stored, payment_ref="sandbox:test")
        session.rollback()
    assert events == []
