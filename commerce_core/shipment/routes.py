from __future__ import annotations

from fastapi import APIRouter

from commerce_core import clock
from commerce_core.auth import MerchantDep, ServiceDep
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.order.service import get_order, owned_order
from commerce_core.params import OrderId
from commerce_core.shipment import service
from commerce_core.shipment.schemas import ShipmentOut
from commerce_core.shopper import ShopperDep

router = APIRouter(tags=["shipments"], responses=error_responses(401, 404, 422))


@router.get("/orders/{order_id}/shipment", response_model=ShipmentOut)
def shipment(_: ServiceDep, session: SessionDep, order_id: OrderId) -> ShipmentOut:
    order = get_order(session=session, order_id=order_id)
    out = service.track(session=session, order=order, now=clock.now())
    session.commit()
    return out


@router.get("/shoppers/{channel}/{external_id}/orders/{number}/shipment",
            response_model=ShipmentOut)
def my_shipment(_: ServiceDep, session: SessionDep, customer: ShopperDep,
                number: str) -> ShipmentOut:
    order = owned_order(session=session, number=number[:16], customer=customer)
    out = service.track(session=session, order=order, now=clock.now())
    session.commit()
    return out


@router.post("/merchant/orders/{order_id}/ship", response_model=ShipmentOut,
             tags=["merchant"], responses=error_responses(409))
def ship(_: MerchantDep, session: SessionDep, order_id: OrderId) -> ShipmentOut:
    order = get_order(session=session, order_id=order_id)
    now = clock.now()
    service.ship(session=session, order=order, now=now)
    session.commit()
    return service.track(session=session, order=order, now=now)
