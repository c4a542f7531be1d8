"""Shipping an order and following its parcel."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_core.config import get_settings
from commerce_core.errors import CommerceError, InvalidInput, NotFound
from commerce_core.models import Order, OrderStatus, Shipment
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import emit_order_event
from commerce_core.order.state import OrderChanged, check_move
from commerce_core.shipment.carrier import Carrier, SimulatedCarrier
from commerce_core.shipment.schemas import ShipmentOut, TrackingEventOut

TRACKING_RE = re.compile(r"^[A-Z0-9-]{6,40}$")


class TrackingNumberTaken(CommerceError):
    code = "tracking_number_taken"
    http_status = 409


@lru_cache
def get_carrier() -> Carrier:
    return SimulatedCarrier(time_scale=get_settings().carrier_time_scale)


def shipment_of(*, session: Session, order: Order) -> Shipment | None:
    return session.scalar(select(Shipment).where(Shipment.order_id == order.id))


def check_tracking_number(value: str) -> str:
    """A tracking number as the carrier prints it: 6-40 letters, digits or '-'.

    Raises:
        InvalidInput: it is not one.
    """
    value = value.strip().upper()
    if not TRACKING_RE.match(value):
        raise InvalidInput("A tracking number is 6-40 letters, digits or '-'.",
                           code="invalid_tracking_number")
    return value


def ship(*, session: Session, order: Order, now: datetime, carrier: Carrier | None = None,
         tracking_number: str | None = None) -> Shipment:
    """Mark the order shipped (only a paid order can ship) with its parcel: the one the
    shop booked itself, by ``tracking_number``, or else one booked with the carrier now.

    Raises:
        InvalidInput: the tracking number is not one.
        TrackingNumberTaken: another order's parcel has this tracking number.
    """
    carrier = carrier or get_carrier()
    check_move(order.status, OrderStatus.SHIPPED)
    if tracking_number is not None:
        tracking_number = check_tracking_number(tracking_number)
        if session.scalar(select(Shipment.id).where(
                Shipment.tracking_number == tracking_number)) is not None:
            raise TrackingNumberTaken(f"The parcel {tracking_number} already carries another "
                                      "order.")
    shipment = Shipment(order_id=order.id, carrier=carrier.name,
                        tracking_number=tracking_number or carrier.create_label(),
                        shipped_at=now)
    session.add(shipment)
    session.flush()
    OrderRepository(session).transition(
        order, to=OrderStatus.SHIPPED, event="shipped",
        data={"carrier": carrier.name, "tracking_number": shipment.tracking_number})
    emit_order_event(session=session, order=order, kind="shipped", carrier=carrier.name,
                     tracking_number=shipment.tracking_number,
                     tracking_url=carrier.tracking_url(shipment.tracking_number))
    return shipment


def track(*, session: Session, order: Order, now: datetime, carrier: Carrier | None = None
          ) -> ShipmentOut:
    """The parcel's journey so far; a delivered parcel marks the order delivered."""
    carrier = carrier or get_carrier()
    shipment = shipment_of(session=session, order=order)
    if shipment is None:
        raise NotFound(f"Order {order.number} has not been shipped yet.",
                       code="not_shipped", details={"status": order.status.value})
    events = carrier.track(tracking_number=shipment.tracking_number,
                           shipped_at=shipment.shipped_at, destination=order.shipping_address,
                           now=now)
    if events and events[-1].status == "delivered" and shipment.delivered_at is None:
        shipment.delivered_at = events[-1].at
        if order.status is OrderStatus.SHIPPED:
            try:
                with session.begin_nested():
                    OrderRepository(session).transition(order, to=OrderStatus.DELIVERED,
                                                        event="delivered")
                emit_order_event(session=session, order=order, kind="delivered",
                                 lines=[{"sku": x.sku, "name": x.name} for x in order.lines])
            except OrderChanged:
                pass  # another request recorded the delivery first
        session.flush()
    return ShipmentOut(
        order_number=order.number, carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        status=events[-1].status if events else "label_created",
        shipped_at=shipment.shipped_at, delivered_at=shipment.delivered_at,
        events=[TrackingEventOut(status=e.status, description=e.description,
                                 location=e.location, at=e.at) for e in events])


def refresh_deliveries(*, session: Session, now: datetime, carrier: Carrier | None = None,
                       limit: int = 500) -> int:
    """Follow the parcels on their way, so a delivery is recorded (and the shopper told)
    without anybody asking; returns how many orders were delivered."""
    repo = OrderRepository(session)
    delivered = 0
    for order_id in repo.in_status(OrderStatus.SHIPPED, limit):
        order = repo.get(order_id)
        if order is not None and order.status is OrderStatus.SHIPPED:
            track(session=session, order=order, now=now, carrier=carrier)
            delivered += order.status is OrderStatus.DELIVERED
    return delivered
