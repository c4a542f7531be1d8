"""Guarded transitions, events, reservation expiry and shipments on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.cart.schemas import LineIn
from commerce_core.cart.service import add_line
from commerce_core.customer.service import get_or_create_customer
from commerce_core.models import Order, OrderEvent, OrderStatus, Variant
from commerce_core.order.repository import OrderRepository
from commerce_core.order.schemas import CheckoutIn
from commerce_core.order.service import checkout, expire_reservations, mark_paid
from commerce_core.order.state import InvalidTransition, OrderChanged
from commerce_core.shipment.carrier import SimulatedCarrier
from commerce_core.shipment.service import ship, track

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DETAILS = CheckoutIn.model_validate({
    "email": "ana@example.com",
    "address": {"name": "Ana Lima", "line1": "3 Rua Nova", "city": "Porto",
                "postal_code": "4000-123", "country": "PT"}})


def place_order(factory: sessionmaker[Session], sku: str = "CER-BWL-001", quantity: int = 2,
                who: str = "ana") -> int:
    with factory() as session:
        customer = get_or_create_customer(session=session, channel="telegram", external_id=who)
        add_line(session=session, customer=customer, line=LineIn(sku=sku, quantity=quantity),
                 today=NOW.date())
        order = checkout(session=session, customer=customer, details=DETAILS, now=NOW)
        session.commit()
        return order.id


def stock(factory: sessionmaker[Session], sku: str) -> int:
    with factory() as session:
        return session.scalar(select(Variant.stock).where(Variant.sku == sku))


def events(factory: sessionmaker[Session], order_id: int) -> list[tuple[str, str | None]]:
    with factory() as session:
        rows = session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                               .order_by(OrderEvent.id))
        return [(e.type, e.to_status) for e in rows]


def test_two_concurrent_transitions_one_wins(demo_catalog: sessionmaker[Session]) -> None:
    order_id = place_order(demo_catalog)
    with demo_catalog() as late, demo_catalog() as early:
        stale = OrderRepository(late).get(order_id)
        late.commit()  # the late request read the order before the other one moved it
        fresh = OrderRepository(early).get(order_id)
        mark_paid(session=early, order=fresh, payment_ref="pay_1")
        early.commit()
        with pytest.raises(OrderChanged):
            OrderRepository(late).transition(stale, to=OrderStatus.CANCELLED, event="cancelled")
        late.rollback()
    assert events(demo_catalog, order_id) == [("placed", None), ("paid", "paid")]


def test_refused_moves_change_nothing(demo_catalog: sessionmaker[Session]) -> None:
    order_id = place_order(demo_catalog)
    with demo_catalog() as session:
        order = OrderRepository(session).get(order_id)
        with pytest.raises(InvalidTransition):
            OrderRepository(session).transition(order, to=OrderStatus.SHIPPED, event="shipped")
        session.rollback()
        assert session.get(Order, order_id).status is OrderStatus.PENDING_PAYMENT


def test_unpaid_orders_expire_and_give_their_stock_back(
        demo_catalog: sessionmaker[Session]) -> None:
    before = stock(demo_catalog, "CER-BWL-001")
    order_id = place_order(demo_catalog)
    assert stock(demo_catalog, "CER-BWL-001") == before - 2
    with demo_catalog() as session:
        assert expire_reservations(session=session, now=NOW + timedelta(minutes=29)) == 0
        assert expire_reservations(session=session, now=NOW + timedelta(minutes=31)) == 1
        session.commit()
    assert stock(demo_catalog, "CER-BWL-001") == before
    assert events(demo_catalog, order_id)[-1] == ("cancelled", "cancelled")
    with demo_catalog() as session:  # running again finds nothing more to do
        assert expire_reservations(session=session, now=NOW + timedelta(hours=5)) == 0


def test_a_paid_order_ships_and_is_tracked_to_delivery(
        demo_catalog: sessionmaker[Session]) -> None:
    order_id = place_order(demo_catalog)
    carrier = SimulatedCarrier()
    with demo_catalog() as session:
        order = OrderRepository(session).get(order_id)
        with pytest.raises(InvalidTransition):  # not paid yet
            ship(session=session, order=order, now=NOW, carrier=carrier)
        session.rollback()
        order = OrderRepository(session).get(order_id)
        mark_paid(session=session, order=order, payment_ref="pay_2")
        shipment = ship(session=session, order=order, now=NOW, carrier=carrier)
        session.commit()
        assert shipment.tracking_number.startswith("ATS")
    with demo_catalog() as session:
        order = OrderRepository(session).get(order_id)
        early = track(session=session, order=order, now=NOW + timedelta(hours=1),
                      carrier=carrier)
        assert [e.status for e in early.events] == ["label_created"]
        # abroad (Portugal): the sorting hub after 18 h + a day in transit
        middle = track(session=session, order=order, now=NOW + timedelta(hours=45),
                       carrier=carrier)
        assert [e.status for e in middle.events] == ["label_created", "picked_up", "in_transit"]
        assert middle.events[-1].location == "Paris, FR"
        assert order.status is OrderStatus.SHIPPED
        done = track(session=session, order=order, now=NOW + timedelta(days=5), carrier=carrier)
        session.commit()
        assert done.status == "delivered" and done.events[-1].location == "Porto, PT"
        assert [e.at for e in done.events] == sorted(e.at for e in done.events)
        assert done.delivered_at is not None
    assert events(demo_catalog, order_id)[-2:] == [("shipped", "shipped"),
                                                  ("delivered", "delivered")]
