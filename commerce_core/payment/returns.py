"""Return requests: the owner of a shipped order asks to send it back for a refund.

The request is recorded on the order (event ``return_requested``) for the team, who
confirm it and refund once the parcel is back (``POST /merchant/orders/{id}/refund``).
An order that has not shipped is cancelled instead, which refunds it at once. The team
answers a request in the back office (``return_accepted`` or ``return_refused``).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from commerce_core.errors import CommerceError
from commerce_core.models import Order, OrderStatus, PaymentStatus
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import emit_order_event

RETURNABLE = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED})


class ReturnNotPossible(CommerceError):
    code = "return_not_possible"
    http_status = 409


class ReturnAlreadyRequested(CommerceError):
    code = "return_pending"
    http_status = 409


def request_return(*, session: Session, order: Order, reason: str) -> None:
    """Record the shopper's wish to return ``order``.

    Raises:
        ReturnNotPossible: the order has not shipped (cancel it instead) or is closed.
        ReturnAlreadyRequested: a return of this order was already asked for.
    """
    if order.status not in RETURNABLE:
        if order.status is OrderStatus.PENDING_PAYMENT:
            why = "has not been paid, so there is nothing to refund; you can cancel it"
        elif order.status in (OrderStatus.PAID, OrderStatus.IN_PRODUCTION):
            why = ("has not been shipped yet, so it does not need a return: cancel it and it "
                   "is refunded in full")
        else:
            why = f"is already {order.status.value.replace('_', ' ')}"
        raise ReturnNotPossible(f"Order {order.number} {why}.")
    if order.payment_status is not PaymentStatus.PAID:
        raise ReturnNotPossible(f"Order {order.number} has no payment to refund.")
    if any(event.type == "return_requested" for event in order.events):
        raise ReturnAlreadyRequested(f"A return of order {order.number} was already "
                                     "requested; the team will be in touch by email.")
    OrderRepository(session).record(order, event="return_requested",
                                    data={"by": "shopper", "reason": reason})


class ReturnState(StrEnum):
    REQUESTED = "requested"
    """The shopper asked; the team has not answered."""
    ACCEPTED = "accepted"
    """The team agreed: the parcel comes back, then the order is refunded."""
    REFUSED = "refused"
    REFUNDED = "refunded"


class ReturnNotPending(CommerceError):
    code = "return_not_pending"
    http_status = 409


def return_state(order: Order) -> ReturnState | None:
    """Where the return of ``order`` stands, from its events (None: never asked for)."""
    last = next((e.type for e in reversed(order.events) if e.type in _RETURN_EVENTS), None)
    if last is None:
        return None
    if last == "return_accepted" and order.status is OrderStatus.REFUNDED:
        return ReturnState.REFUNDED
    return _RETURN_EVENTS[last]


def _answer(session: Session, order: Order, event: str, data: dict[str, str]) -> None:
    if return_state(order) is not ReturnState.REQUESTED:
        raise ReturnNotPending(f"Order {order.number} has no return request waiting for an "
                               "answer.")
    OrderRepository(session).record(order, event=event, data=data)


def accept_return(*, session: Session, order: Order) -> None:
    """The team agrees to take ``order`` back; it is refunded once the parcel is back.

    Raises:
        ReturnNotPending: no request of it waits for an answer.
    """
    _answer(session, order, "return_accepted", {"by": "merchant"})
    emit_order_event(session=session, order=order, kind="return_accepted")


def refuse_return(*, session: Session, order: Order, reason: str) -> None:
    """The team declines the return, saying why.

    Raises:
        ReturnNotPending: no request of it waits for an answer.
    """
    _answer(session, order, "return_refused", {"by": "merchant", "reason": reason})
    emit_order_event(session=session, order=order, kind="return_refused", reason=reason)


_RETURN_EVENTS = {"return_requested": ReturnState.REQUESTED,
                  "return_accepted": ReturnState.ACCEPTED,
                  "return_refused": ReturnState.REFUSED}
