from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from commerce_core import clock
from commerce_core.auth import ServiceDep
from commerce_core.cart import service
from commerce_core.cart.schemas import CartOut, LineIn, LineUpdate
from commerce_core.db import SessionDep, begin_read
from commerce_core.shopper import ShopperDep

router = APIRouter(prefix="/shoppers/{channel}/{external_id}/cart", tags=["cart"])
Country = Annotated[str, Query(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$",
                               description="shipping country for the estimate")]


def _view(session: SessionDep, customer_id: int, country: str) -> CartOut:
    """The cart as it is once the route committed: read without SQLite's write lock."""
    begin_read(session)
    return service.view_for(session=session, customer_id=customer_id, country=country)


@router.get("", response_model=CartOut)
def get_cart(_: ServiceDep, session: SessionDep, customer: ShopperDep,
             country: Country = "FR") -> CartOut:
    session.commit()  # a first contact creates the customer
    return _view(session, customer.id, country)


@router.post("/lines", response_model=CartOut, status_code=201)
def add_line(_: ServiceDep, session: SessionDep, customer: ShopperDep, line: LineIn,
             country: Country = "FR") -> CartOut:
    service.add_line(session=session, customer=customer, line=line, today=clock.now().date())
    session.commit()
    return _view(session, customer.id, country)


@router.patch("/lines/{line_id}", response_model=CartOut)
def change_quantity(_: ServiceDep, session: SessionDep, customer: ShopperDep, line_id: int,
                    change: LineUpdate, country: Country = "FR") -> CartOut:
    service.set_quantity(session=session, customer=customer, line_id=line_id,
                         quantity=change.quantity, today=clock.now().date())
    session.commit()
    return _view(session, customer.id, country)


@router.delete("/lines/{line_id}", response_model=CartOut)
def remove_line(_: ServiceDep, session: SessionDep, customer: ShopperDep, line_id: int,
                country: Country = "FR") -> CartOut:
    service.remove_line(session=session, customer=customer, line_id=line_id)
    session.commit()
    return _view(session, customer.id, country)
