from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from commerce_core import clock
from commerce_core.auth import MerchantDep, ServiceDep
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.order import service
from commerce_core.order.schemas import CheckoutIn, OrderLookupIn, OrderOut
from commerce_core.params import OrderId
from commerce_core.shopper import ShopperDep

router = APIRouter(tags=["orders"], responses=error_responses(401, 422))
OrderNumber = Annotated[str, Query(min_length=3, max_length=16)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                               max_length=100, pattern=r"^[ -~]+$")]


@router.post("/shoppers/{channel}/{external_id}/checkout", response_model=OrderOut,
             status_code=201,
             responses={200: {"model": OrderOut, "description": "The order this customer's "
                              "checkout with the same Idempotency-Key placed before"},
                        **error_responses(404, 409, 413)})
def checkout(_: ServiceDep, session: SessionDep, customer: ShopperDep, details: CheckoutIn,
             response: Response, idempotency_key: IdempotencyKey = None) -> OrderOut:
    """Place the order of the customer's cart (201). With an ``Idempotency-Key`` (the chat
    sends the id of the shopper's turn), a checkout sent again gets the order that key
    placed (200) instead of another one."""
    if idempotency_key is None:
        order = service.checkout(session=session, customer=customer, details=details,
                                 now=clock.now())
    else:
        order, placed = service.checkout_once(session=session, customer=customer,
                                              details=details, key=idempotency_key,
                                              now=clock.now())
        if not placed:
            response.status_code = 200
    session.commit()
    return service.to_out(order)


@router.get("/shoppers/{channel}/{external_id}/orders", response_model=list[OrderOut])
def my_orders(_: ServiceDep, session: SessionDep, customer: ShopperDep,
              limit: Annotated[int, Query(ge=1, le=20)] = 5) -> list[OrderOut]:
    return [service.to_out(o) for o in service.recent_orders(session=session, customer=customer,
                                                             limit=limit)]


@router.get("/shoppers/{channel}/{external_id}/orders/{number}", response_model=OrderOut,
            responses=error_responses(404))
def my_order(_: ServiceDep, session: SessionDep, customer: ShopperDep,
             number: str) -> OrderOut:
    return service.to_out(service.owned_order(session=session, number=number[:16],
                                              customer=customer))


@router.post("/orders/lookup", response_model=OrderOut, responses=error_responses(404, 413))
def lookup(_: ServiceDep, session: SessionDep, body: OrderLookupIn) -> OrderOut:
    """An order by number + the email it was placed with (for a shopper on a new channel)."""
    return service.to_out(service.owned_order(session=session, number=body.number,
                                              email=body.email))


@router.get("/merchant/orders/{order_id}", response_model=OrderOut, tags=["merchant"],
            responses=error_responses(404))
def merchant_order(_: MerchantDep, session: SessionDep, order_id: OrderId) -> OrderOut:
    return service.to_out(service.get_order(session=session, order_id=order_id))


@router.post("/merchant/orders/{order_id}/production", response_model=OrderOut,
             tags=["merchant"], responses=error_responses(404, 409))
def start_production(_: MerchantDep, session: SessionDep, order_id: OrderId) -> OrderOut:
    order = service.get_order(session=session, order_id=order_id)
    service.start_production(session=session, order=order)
    session.commit()
    return service.to_out(service.get_order(session=session, order_id=order_id))
