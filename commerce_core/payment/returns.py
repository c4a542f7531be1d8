"""Return requests: the owner of a shipped order asks to send it back for a refund.

The request is recorded on the order (event ``return_requested``) for the team, who
confirm it and refund once the parcel is back (``POST /merchant/orders/{id}/refund``).
An order that has not shipped is cancelled instead, which refunds it at once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from commerce_core.errors import CommerceError
from commerce_core.models import Order, OrderStatus, PaymentStatus
from commerce_core.order.repository import OrderRepository

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
