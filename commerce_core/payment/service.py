"""Payments of orders: payment links, webhook events, refunds. The request commits.

Provider calls (network) are never made while a transaction is open: the routes commit,
then call the provider, whose answer comes back later as a webhook event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy.orm import Session

from commerce_core.errors import CommerceError, InvalidInput, NotFound
from commerce_core.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentState,
    PaymentStatus,
    WebhookEvent,
)
from commerce_core.money import ensure_chargeable
from commerce_core.order.repository import OrderRepository
from commerce_core.order.service import (
    OrderNotCancellable,
    cancel_unpaid,
    emit_order_event,
    get_order,
    mark_paid,
    mark_refunded,
)
from commerce_core.order.state import ALLOWED
from commerce_core.payment.provider import EventType, HostedPayment, PaymentRef
from commerce_core.payment.repository import PaymentRepository
from commerce_core.payment.schemas import PaymentOut, WebhookEventIn

log = logging.getLogger(__name__)

REFUNDABLE = frozenset(s for s, moves in ALLOWED.items() if OrderStatus.REFUNDED in moves)
SHOPPER_CANCELLABLE = frozenset({OrderStatus.PAID, OrderStatus.IN_PRODUCTION})
OPEN = (PaymentState.CREATED, PaymentState.FAILED)
MONEY_MOVED = frozenset({EventType.PAYMENT_SUCCEEDED, EventType.REFUND_SUCCEEDED})
UNKEPT = frozenset({"paid_after_cancel", "duplicate_payment"})
"""Order events of a payment that arrived but could not be kept (and is refunded)."""


class IdempotencyConflict(CommerceError):
    code = "idempotency_conflict"
    http_status = 409


class OrderNotPayable(CommerceError):
    code = "order_not_payable"
    http_status = 409


class OrderExpired(OrderNotPayable):
    code = "order_expired"


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class OrderNotRefundable(CommerceError):
    code = "order_not_refundable"
    http_status = 409


class RefundAlreadyRequested(CommerceError):
    code = "refund_pending"
    http_status = 409


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class EventMismatch(CommerceError):
    """A correctly signed event that does not describe the payment it names."""

    code = "event_mismatch"
    http_status = 422


class InvalidEvent(CommerceError):
    code = "invalid_event"
    http_status = 400


class RetryLater(CommerceError):
    """The order moved under the event; the provider should deliver it again."""

    code = "try_again"
    http_status = 503


def check_idempotency_key(key: str | None) -> str:
    if key is None:
        raise InvalidIdempotencyKey("The Idempotency-Key header is required, so that a "
                                    "retried request never opens a second payment.")
    if not 1 <= len(key) <= 100 or not all(" " <= ch <= "~" for ch in key):
        raise InvalidIdempotencyKey("The Idempotency-Key header must be 1-100 printable "
                                    "ASCII characters.")
    return key


def payment_ref(payment: Payment) -> str:
    """How order events name a payment: the provider's charge id, else our id."""
    return payment.provider_ref or f"payment-{payment.id}"


def paid_by(order: Order) -> str | None:
    """The payment that paid ``order`` (from its ``paid`` event), if any."""
    return next((str(e.data.get("payment")) for e in order.events if e.type == "paid"), None)


def ref_of(payment: Payment) -> PaymentRef:
    return PaymentRef(token=payment.token, order_id=payment.order_id, amount=payment.amount,
                      currency=payment.currency)


def to_out(payment: Payment, url: str) -> PaymentOut:
    return PaymentOut(payment_id=payment.id, token=payment.token, url=url,
                      amount=payment.amount, currency=payment.currency,
                      state=payment.state.value)


def _describe(order: Order) -> str:
    if order.status is OrderStatus.CANCELLED:
        return f"Order {order.number} was cancelled, so it can no longer be paid."
    if order.status is OrderStatus.REFUNDED:
        return f"Order {order.number} was refunded, so it can no longer be paid."
    return f"Order {order.number} is already paid."


# --- payment links ---------------------------------------------------------------------

def existing_payment(*, session: Session, order_id: int, key: str) -> Payment | None:
    """The payment already made with ``key``, or None; the key of another order is refused."""
    payment = PaymentRepository(session).by_idempotency_key(key)
    if payment is not None and payment.order_id != order_id:
        raise IdempotencyConflict("This Idempotency-Key was already used for another order; "
                                  "use a new key for each order.")
    return payment


def payable_order(*, session: Session, order_id: int, now: datetime) -> Order:
    """The order, if a payment may be opened for it now (for an amount the shop may charge:
    checkout ensures it, and this holds even for an order changed behind its back)."""
    order = get_order(session=session, order_id=order_id)
    if order.status is not OrderStatus.PENDING_PAYMENT:
        raise OrderNotPayable(_describe(order))
    if order.reserved_until is not None and order.reserved_until <= now:
        raise OrderExpired(f"The reservation of order {order.number} has expired; please "
                           "check out again.")
    ensure_chargeable(order.total, what=f"Order {order.number}", currency=order.currency,
                      advice="Please ask the shop to look into it.")
    return order


def save_payment(*, session: Session, order_id: int, key: str, provider: str,
                 hosted: HostedPayment, now: datetime) -> tuple[Payment, bool]:
    """Store the payment the provider opened; ``(payment, created)``.

    A concurrent request with the same key may have stored it first: then that one is
    returned and nothing is created.
    """
    order = payable_order(session=session, order_id=order_id, now=now)
    repo = PaymentRepository(session)
    payment = Payment(order_id=order.id, provider=provider, token=hosted.token,
                      idempotency_key=key, amount=order.total, currency=order.currency,
                      state=PaymentState.CREATED)
    if not repo.add(payment):
        existing = existing_payment(session=session, order_id=order_id, key=key)
        if existing is None:
            raise IdempotencyConflict("This payment link was created by another request at "
                                      "the same moment; please try again.")
        return existing, False
    OrderRepository(session).record(order, event="payment_link_created",
                                    data={"payment_id": payment.id})
    return payment, True


# --- the hosted page -------------------------------------------------------------------

class PageKind(StrEnum):
    PAYABLE = "payable"
    PAID = "paid"
    REFUNDED = "refunded"
    CLOSED = "closed"


@dataclass(frozen=True)
class PageView:
    kind: PageKind
    payment: PaymentRef
    order_number: str
    message: str
    last_failure: str | None


def page_view(*, session: Session, token: str, now: datetime) -> PageView | None:
    """What the hosted page of ``token`` shows, or None for an unknown token."""
    payment = PaymentRepository(session).by_token(token)
    if payment is None:
        return None
    order = get_order(session=session, order_id=payment.order_id)
    failure = payment.failure_reason if payment.state is PaymentState.FAILED else None
    view = PageView(kind=PageKind.PAYABLE, payment=ref_of(payment), order_number=order.number,
                    message="", last_failure=failure)
    cancelled = order.status is OrderStatus.CANCELLED
    if payment.state is PaymentState.SUCCEEDED and cancelled:
        return _with(view, PageKind.REFUNDED, "This payment arrived after the order had been "
                                              "cancelled, so it is being refunded.")
    if payment.state is PaymentState.SUCCEEDED:
        return _with(view, PageKind.PAID, "This order is paid. Thank you!")
    if payment.state is PaymentState.REFUNDED or order.status is OrderStatus.REFUNDED:
        return _with(view, PageKind.REFUNDED, "This payment was refunded.")
    if order.payment_status is not PaymentStatus.UNPAID and not cancelled:
        return _with(view, PageKind.PAID, "This order is paid. Thank you!")
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return _with(view, PageKind.CLOSED, "This order was cancelled and can no longer be "
                                            "paid.")
    if order.reserved_until is not None and order.reserved_until <= now:
        return _with(view, PageKind.CLOSED, "The time to pay this order has run out; please "
                                            "check out again from the chat.")
    return view


def _with(view: PageView, kind: PageKind, message: str) -> PageView:
    return PageView(kind=kind, payment=view.payment, order_number=view.order_number,
                    message=message, last_failure=None)


# --- webhook events --------------------------------------------------------------------

@dataclass(frozen=True)
class RefundCall:
    """A refund the provider must be asked for once the transaction is committed."""

    order_id: int
    payment: PaymentRef
    reason: str


@dataclass(frozen=True)
class EventOutcome:
    status: Literal["processed", "duplicate", "ignored"]
    refund: RefundCall | None = None


def process_event(*, session: Session, event: WebhookEventIn, provider: str) -> EventOutcome:
    """Apply one verified event in the caller's transaction.

    A replayed event id changes nothing ("duplicate"). An event older than the last one
    applied to its payment is recorded and ignored ("ignored") — except a success or a
    refund, which report money that really moved and must never be lost to a late
    delivery; the state rules alone decide those (a failure never overrides a success).
    """
    repo = PaymentRepository(session)
    if repo.event_seen(event.id):
        return EventOutcome("duplicate")
    payment = repo.by_token(event.data.payment_token, for_update=True)
    if payment is None or payment.provider != provider:
        raise PaymentNotFound("No payment matches this event's payment_token.")
    if (event.data.order_id, event.data.amount, event.data.currency) != (
            payment.order_id, payment.amount, payment.currency):
        raise EventMismatch("The event's order, amount or currency differ from the payment's.")
    if not repo.add_event(WebhookEvent(id=event.id, provider=provider, type=event.type,
                                       payload=event.model_dump(mode="json"))):
        return EventOutcome("duplicate")
    created = datetime.fromtimestamp(event.created, UTC)
    if payment.last_event_at is not None:
        last = payment.last_event_at
        if created < last and event.type not in MONEY_MOVED:
            return EventOutcome("ignored")  # out of order: a newer event was applied
        created = max(created, last)
    if event.type == EventType.PAYMENT_SUCCEEDED:
        return _succeeded(session, payment, event, created)
    if event.type == EventType.PAYMENT_FAILED:
        return _failed(session, payment, event, created)
    if event.type == EventType.REFUND_SUCCEEDED:
        return _refunded(session, payment, event, created)
    return EventOutcome("ignored")  # a type this version does not act on


def _succeeded(session: Session, payment: Payment, event: WebhookEventIn,
               created: datetime) -> EventOutcome:
    repo = PaymentRepository(session)
    if not repo.move(payment, to=PaymentState.SUCCEEDED, expected=OPEN, failure_reason=None,
                     provider_ref=event.data.provider_ref, last_event_at=created):
        return EventOutcome("ignored")  # already succeeded (or refunded): nothing new
    order = get_order(session=session, order_id=payment.order_id)
    ref = payment_ref(payment)
    if order.status is OrderStatus.PENDING_PAYMENT:
        mark_paid(session=session, order=order, payment_ref=ref)
        return EventOutcome("processed")
    # Money arrived for an order that no longer wants it: its reservation expired and it
    # was cancelled, or another link paid it. Give the money back.
    why = ("paid_after_cancel" if order.status is OrderStatus.CANCELLED
           else "duplicate_payment")
    if why == "paid_after_cancel":  # money came after all: the order must not say "unpaid"
        PaymentRepository(session).set_order_payment_status(
            order, to=PaymentStatus.REFUND_PENDING, expected=PaymentStatus.UNPAID,
            statuses=(OrderStatus.CANCELLED,))
    OrderRepository(session).record(order, event=why, data={"payment": ref})
    OrderRepository(session).record(order, event="refund_requested",
                                    data={"payment": ref, "by": "automatic", "reason": why})
    return EventOutcome("processed", RefundCall(order.id, ref_of(payment), why))


def _failed(session: Session, payment: Payment, event: WebhookEventIn,
            created: datetime) -> EventOutcome:
    reason = event.data.reason or "The payment failed."
    if not PaymentRepository(session).move(
            payment, to=PaymentState.FAILED, expected=OPEN, failure_reason=reason,
            provider_ref=event.data.provider_ref, last_event_at=created):
        return EventOutcome("ignored")  # a failure never overrides a success
    order = get_order(session=session, order_id=payment.order_id)
    OrderRepository(session).record(order, event="payment_failed",
                                    data={"payment": payment_ref(payment), "reason": reason})
    return EventOutcome("processed")


def _refunded(session: Session, payment: Payment, event: WebhookEventIn,
              created: datetime) -> EventOutcome:
    if not PaymentRepository(session).move(payment, to=PaymentState.REFUNDED,
                                           expected=(PaymentState.SUCCEEDED,),
                                           last_event_at=created):
        return EventOutcome("ignored")
    order = get_order(session=session, order_id=payment.order_id)
    ref = payment_ref(payment)
    if paid_by(order) == ref and order.status in REFUNDABLE:
        mark_refunded(session=session, order=order, payment_ref=ref)
    else:  # a payment the order did not keep, or money back after the parcel left
        OrderRepository(session).record(order, event="payment_refunded",
                                        data={"payment": ref, "refund": event.data.provider_ref})
        _tell_unkept_refund(session, order, payment)
    return EventOutcome("processed")


def _tell_unkept_refund(session: Session, order: Order, payment: Payment) -> None:
    """A payment the order did not keep went back (it came after the order was cancelled,
    or a second link was paid too): the order says so, and the shopper is told."""
    ref = payment_ref(payment)
    why = next((e.type for e in order.events if e.type in UNKEPT
                and e.data.get("payment") == ref), None)
    if why is None:
        return  # money back after the parcel left: the team's refund, told by them
    PaymentRepository(session).set_order_payment_status(
        order, to=PaymentStatus.REFUNDED, expected=PaymentStatus.REFUND_PENDING,
        statuses=(OrderStatus.CANCELLED,))
    emit_order_event(session=session, order=order, kind="payment_refunded", reason=why,
                     amount=str(payment.amount), currency=payment.currency)


# --- refunds and cancellation ----------------------------------------------------------

def request_refund(*, session: Session, order: Order, by: str) -> RefundCall:
    """Mark ``order`` as waiting for its money back; the caller then asks the provider.

    Raises:
        OrderNotRefundable: nothing was paid for it, or it cannot be refunded any more.
        RefundAlreadyRequested: a refund is already on its way.
    """
    repo = PaymentRepository(session)
    payments = repo.for_order(order.id)
    if order.status in REFUNDABLE:
        if order.payment_status is PaymentStatus.REFUND_PENDING:
            raise RefundAlreadyRequested(f"A refund of order {order.number} is already on its "
                                         "way.")
        paying = paid_by(order)
        payment = next((p for p in payments if p.state is PaymentState.SUCCEEDED
                        and payment_ref(p) == paying), None)
        if payment is None or not repo.set_order_payment_status(
                order, to=PaymentStatus.REFUND_PENDING, expected=PaymentStatus.PAID,
                statuses=REFUNDABLE):
            raise OrderNotRefundable(f"Order {order.number} has no payment that can be "
                                     "refunded right now.")
    else:
        # a cancelled order may still hold a payment that arrived too late and whose
        # automatic refund failed: the merchant can send it back from here
        payment = next((p for p in payments if p.state is PaymentState.SUCCEEDED), None)
        if order.status is not OrderStatus.CANCELLED or payment is None:
            raise OrderNotRefundable(f"Order {order.number} is "
                                     f"{order.status.value.replace('_', ' ')}; there is "
                                     "nothing to refund.")
    reason = f"requested_by_{by}"
    OrderRepository(session).record(order, event="refund_requested",
                                    data={"payment": payment_ref(payment), "by": by})
    return RefundCall(order.id, ref_of(payment), reason)


def refund_not_sent(*, session: Session, call: RefundCall, error: str) -> None:
    """The provider refused a refund: the order is paid again, and says what happened."""
    order = get_order(session=session, order_id=call.order_id)
    PaymentRepository(session).set_order_payment_status(
        order, to=PaymentStatus.PAID, expected=PaymentStatus.REFUND_PENDING,
        statuses=REFUNDABLE)
    OrderRepository(session).record(order, event="refund_failed", data={"error": error[:200]})
    log.error("refund not accepted by the provider order=%s error=%s", order.id, error)


def cancel_order(*, session: Session, order: Order, by: str = "shopper") -> RefundCall | None:
    """The shopper (or the shop, ``by="merchant"``) cancels: an unpaid order at once, a
    paid one through a refund.

    Returns:
        The refund to ask the provider for after commit, or None (nothing to refund).

    Raises:
        OrderNotCancellable: the order has left the workshop, or is already closed.
        RefundAlreadyRequested: it is already being refunded.
    """
    if order.status is OrderStatus.PENDING_PAYMENT:
        cancel_unpaid(session=session, order=order, reason=f"cancelled by the {by}")
        return None
    if order.status in SHOPPER_CANCELLABLE:
        return request_refund(session=session, order=order, by=by)
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise OrderNotCancellable(f"Order {order.number} has already been shipped, so it can "
                                  "no longer be cancelled; you can ask for a return instead.")
    raise OrderNotCancellable(f"Order {order.number} is already "
                              f"{order.status.value.replace('_', ' ')}.")

