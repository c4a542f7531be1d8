"""Orders in the back office: the list (``/merchant``), one order, and what the shop does
with it — through the core's services and state machine, each action audited. A move the
order cannot make shows the core's own explanation on the order's page."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.html import h, page, url
from channels.merchant.order_pages import order_detail, order_list
from commerce_core import clock
from commerce_core.audit.repository import AuditRepository
from commerce_core.audit.service import Actor
from commerce_core.backoffice import service
from commerce_core.backoffice.repository import BackOfficeRepository
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError
from commerce_core.models import Order, OrderStatus
from commerce_core.order.service import NUMBER_RE
from commerce_core.payment.provider import PaymentProvider, ProviderError
from commerce_core.payment.repository import PaymentRepository
from commerce_core.payment.routes import ProviderDep, send_refund
from commerce_core.payment.service import RefundCall

router = APIRouter(include_in_schema=False)
PageNumber = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]
PAGE_SIZE = 25
MAX_QUERY = 100
DONE = {
    "in_production": "Marked in production.",
    "shipped": "Shipped; the shopper is told with the tracking number.",
    "refunded": "Refund asked of the payment provider.",
    "cancelled": "Order cancelled.",
    "return_accepted": "Return accepted: refund the order once the parcel is back.",
    "return_refused": "Return refused.",
}


@router.get("/merchant")
def orders_page(actor: OwnerDep, session: SessionDep, status: str = "", q: str = "",
                page_number: PageNumber = 1) -> HTMLResponse:
    chosen = None
    if status:
        try:
            chosen = OrderStatus(status)
        except ValueError:
            return page(title="Orders", actor=actor, status=422, body=order_list(
                [], status=None, query="", page_number=1, pages=0, total=0, counts={}),
                error=f"There is no order status {status[:40]!r}.")
    query = q.strip()[:MAX_QUERY]
    repo = BackOfficeRepository(session)
    orders, total = repo.orders(status=chosen, query=query, offset=(page_number - 1) * PAGE_SIZE,
                                limit=PAGE_SIZE)
    return page(title="Orders", actor=actor, body=order_list(
        orders, status=chosen, query=query, page_number=page_number,
        pages=math.ceil(total / PAGE_SIZE), total=total, counts=repo.status_counts()))


def order_page(session: Session, actor: Actor, number: str, *, notice: str | None = None,
               error: str | None = None, status: int = 200) -> HTMLResponse:
    try:
        order = service.find_order(session=session, number=number)
    except CommerceError as exc:
        return page(title="No such order", actor=actor, status=404, error=exc.message,
                    body=h('<p><a href="/merchant">All orders</a></p>'))
    body = order_detail(order, payments=PaymentRepository(session).for_order(order.id),
                        shipment=BackOfficeRepository(session).shipment(order.id),
                        audit=AuditRepository(session).for_target("order", order.number))
    return page(title=f"Order {order.number}", actor=actor, body=body, notice=notice,
                error=error, status=status)


@router.get("/merchant/orders/{number}")
def one_order(actor: OwnerDep, session: SessionDep, number: str,
              done: str = "") -> HTMLResponse:
    return order_page(session, actor, number[:16], notice=DONE.get(done))


def act(*, session: Session, actor: Actor, number: str, done: str,
        change: Callable[[Order], RefundCall | None],
        provider: PaymentProvider | None = None, back: str | None = None) -> Response:
    """Do ``change`` to the order and commit, then ask the provider for a refund it
    returned; a refusal shows the order's page with the core's message, nothing changed."""
    if not NUMBER_RE.match(number):
        return order_page(session, actor, number[:16])
    try:
        order = service.find_order(session=session, number=number)
        call = change(order)
        session.commit()
    except CommerceError as exc:
        session.rollback()
        return order_page(session, actor, number, error=exc.message, status=exc.http_status)
    if call is not None and provider is not None:
        try:
            send_refund(session, provider, call)
        except ProviderError as exc:
            return order_page(session, actor, number, status=502, error=(
                f"The payment provider did not take the refund: {exc.message}"))
    return RedirectResponse(url(back or f"/merchant/orders/{order.number}", done=done),
                            status_code=303)


@router.post("/merchant/orders/{number}/production")
def mark_in_production(actor: OwnerDep, session: SessionDep, number: str) -> Response:
    return act(session=session, actor=actor, number=number, done="in_production",
               change=lambda order: service.start_production(session=session, actor=actor,
                                                             order=order))


@router.post("/merchant/orders/{number}/ship")
def ship(actor: OwnerDep, session: SessionDep, number: str, form: FormDep) -> Response:
    tracking = form.get("tracking_number", "").strip() or None

    def change(order: Order) -> None:
        service.ship(session=session, actor=actor, order=order, now=clock.now(),
                     tracking_number=tracking)

    return act(session=session, actor=actor, number=number, done="shipped", change=change)


@router.post("/merchant/orders/{number}/refund")
def refund(actor: OwnerDep, session: SessionDep, provider: ProviderDep, number: str,
           request: Request) -> Response:
    back = "/merchant/returns" if request.query_params.get("from") == "returns" else None
    return act(session=session, actor=actor, number=number, done="refunded", provider=provider,
               back=back, change=lambda order: service.refund(session=session, actor=actor,
                                                              order=order))


@router.post("/merchant/orders/{number}/cancel")
def cancel(actor: OwnerDep, session: SessionDep, provider: ProviderDep,
           number: str) -> Response:
    return act(session=session, actor=actor, number=number, done="cancelled", provider=provider,
               change=lambda order: service.cancel(session=session, actor=actor, order=order))
