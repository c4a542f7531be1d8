"""The back office's actions: the core's own services and state machine, each written to
the audit log (who, what, before, after) in the same transaction. The caller commits, and
asks the payment provider for a returned :class:`RefundCall` after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from commerce_core.audit.service import Actor, record
from commerce_core.backoffice.repository import BackOfficeRepository
from commerce_core.errors import CommerceError, NotFound
from commerce_core.events import emit
from commerce_core.models import Order, Variant
from commerce_core.order import service as orders
from commerce_core.payment import returns
from commerce_core.payment import service as payments
from commerce_core.shipment import service as shipments

LOW_STOCK = 3
"""A variant with this many pieces or fewer is flagged on the stock page."""


class StockChanged(CommerceError):
    code = "stock_changed"
    http_status = 409


def find_order(*, session: Session, number: str) -> Order:
    order = BackOfficeRepository(session).order(number[:16])
    if order is None:
        raise NotFound(f"There is no order {number.upper()[:16]}.", code="order_not_found")
    return order


def _state(order: Order) -> dict[str, Any]:
    state = {"status": order.status.value, "payment_status": order.payment_status.value}
    if (answer := returns.return_state(order)) is not None:
        state["return"] = answer.value
    return state


def _audited(session: Session, actor: Actor, order: Order, action: str,
             change: Callable[[], payments.RefundCall | None],
             **noted: Any) -> payments.RefundCall | None:
    before = _state(order)
    call = change()
    session.refresh(order, attribute_names=["status", "payment_status"])
    record(session=session, actor=actor, action=action, target_type="order",
           target=order.number, before=before, after={**_state(order), **noted})
    return call


def start_production(*, session: Session, actor: Actor, order: Order) -> None:
    _audited(session, actor, order, "order.in_production",
             lambda: orders.start_production(session=session, order=order))


def ship(*, session: Session, actor: Actor, order: Order, now: datetime,
         tracking_number: str | None) -> str:
    """Ship ``order``; returns its parcel's tracking number."""
    before = _state(order)
    shipment = shipments.ship(session=session, order=order, now=now,
                              tracking_number=tracking_number)
    session.refresh(order, attribute_names=["status", "payment_status"])
    record(session=session, actor=actor, action="order.ship", target_type="order",
           target=order.number, before=before,
           after={**_state(order), "tracking_number": shipment.tracking_number})
    return shipment.tracking_number


def refund(*, session: Session, actor: Actor, order: Order) -> payments.RefundCall:
    call = _audited(session, actor, order, "order.refund",
                    lambda: payments.request_refund(session=session, order=order,
                                                    by="merchant"))
    assert call is not None  # request_refund always returns one, or raises
    return call


def cancel(*, session: Session, actor: Actor, order: Order) -> payments.RefundCall | None:
    return _audited(session, actor, order, "order.cancel",
                    lambda: payments.cancel_order(session=session, order=order, by="merchant"))


def accept_return(*, session: Session, actor: Actor, order: Order) -> None:
    _audited(session, actor, order, "return.accept",
             lambda: returns.accept_return(session=session, order=order))


def refuse_return(*, session: Session, actor: Actor, order: Order, reason: str) -> None:
    _audited(session, actor, order, "return.refuse",
             lambda: returns.refuse_return(session=session, order=order, reason=reason),
             reason=reason)


def set_variant(*, session: Session, actor: Actor, variant_id: int, expected_stock: int,
                price: Decimal, stock: int) -> Variant:
    """Set a variant's price and stock, if its stock is still what the owner saw.

    Raises:
        NotFound: there is no such variant.
        StockChanged: an order took (or gave back) pieces since the owner looked.
    """
    repo = BackOfficeRepository(session)
    variant = repo.variant(variant_id)
    if variant is None:
        raise NotFound(f"There is no variant with id {variant_id}.", code="variant_not_found")
    before = {"price": str(variant.price), "stock": variant.stock}
    if not repo.set_variant(variant, expected_stock=expected_stock, price=price, stock=stock):
        raise StockChanged(f"The stock of {variant.sku} changed to {variant.stock} while you "
                           "were editing it; nothing was saved. Look at it and save again.")
    record(session=session, actor=actor, action="variant.update", target_type="variant",
           target=variant.sku, before=before,
           after={"price": str(variant.price), "stock": variant.stock})
    emit(session, "catalog.changed")
    return variant
