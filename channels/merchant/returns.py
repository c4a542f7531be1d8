"""The returns queue: what shoppers asked to send back, answered by the owner (accept or
refuse with a reason), and refunded once an accepted parcel is back; a page at a time,
latest request first."""

from __future__ import annotations

import math

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.html import (
    Html,
    button_form,
    h,
    join,
    label,
    page,
    pager,
    table,
    url,
    when,
)
from channels.merchant.order_pages import customer, status_badge
from channels.merchant.orders import DONE, PageNumber, act
from commerce_core.backoffice import service
from commerce_core.backoffice.repository import BackOfficeRepository
from commerce_core.db import SessionDep
from commerce_core.errors import InvalidInput
from commerce_core.models import Order, PaymentStatus
from commerce_core.params import CONTROL_RE
from commerce_core.payment.returns import ReturnState, return_state

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
OPEN = frozenset({ReturnState.REQUESTED, ReturnState.ACCEPTED})
MAX_REASON = 300


def _actions(order: Order, state: ReturnState) -> Html:
    base = f"/merchant/returns/{order.number}"
    if state is ReturnState.REQUESTED:
        return join([button_form(base + "/accept", "Accept"),
                     button_form(base + "/refuse", "Refuse", css="danger", fields=h(
                         '<label>Why <input name="reason" required maxlength="{}" '
                         'placeholder="told to the shopper by email"></label>', MAX_REASON))])
    if state is ReturnState.ACCEPTED and order.payment_status is PaymentStatus.PAID:
        return button_form(f"/merchant/orders/{order.number}/refund?from=returns",
                           "Parcel is back: refund")
    return Html("")


def _row(order: Order, state: ReturnState) -> tuple[object, ...]:
    asked = next(e for e in order.events if e.type == "return_requested")
    return (h('<a href="/merchant/orders/{0}">{0}</a>', order.number), customer(order),
            when(asked.created_at), asked.data.get("reason", ""),
            status_badge(order.status.value), label(state.value), _actions(order, state))


@router.get("/merchant/returns")
def returns_page(actor: OwnerDep, session: SessionDep, done: str = "", show: str = "open",
                 page_number: PageNumber = 1) -> HTMLResponse:
    every = show == "all"
    orders, total = BackOfficeRepository(session).return_requests(
        open_only=not every, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    rows = [_row(order, state) for order in orders
            if (state := return_state(order)) is not None and (every or state in OPEN)]
    switch = (h('<p><a href="/merchant/returns">Only the open ones</a></p>') if every
              else h('<p><a href="/merchant/returns?show=all">Answered ones too</a></p>'))
    return page(title="Returns", actor=actor, notice=DONE.get(done), body=join([
        switch, table(["Order", "Customer", "Asked", "Reason", "Order status", "Return", ""],
                      rows, empty="No return waits for you.", css="returns"),
        pager(lambda n: url("/merchant/returns", show="all" if every else None, page=n),
              page_number=page_number, pages=math.ceil(total / PAGE_SIZE), total=total,
              what="returns")]))


@router.post("/merchant/returns/{number}/accept")
def accept(actor: OwnerDep, session: SessionDep, number: str) -> Response:
    return act(session=session, actor=actor, number=number, done="return_accepted",
               back="/merchant/returns",
               change=lambda order: service.accept_return(session=session, actor=actor,
                                                          order=order))


@router.post("/merchant/returns/{number}/refuse")
def refuse(actor: OwnerDep, session: SessionDep, number: str, form: FormDep) -> Response:
    reason = form.get("reason", "").strip()

    def change(order: Order) -> None:
        if not reason or len(reason) > MAX_REASON or CONTROL_RE.search(reason):
            raise InvalidInput(f"Say why in 1-{MAX_REASON} characters on one line.",
                               code="invalid_reason")
        service.refuse_return(session=session, actor=actor, order=order, reason=reason)

    return act(session=session, actor=actor, number=number, done="return_refused",
               back="/merchant/returns", change=change)
