"""Checkout and the life of an order. The request (unit of work) commits."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from commerce_core.cart.repository import CartRepository
from commerce_core.cart.service import OutOfStock, check_line_total, price_lines
from commerce_core.config import get_settings
from commerce_core.errors import CommerceError, NotFound
from commerce_core.events import emit
from commerce_core.models import (
    CartStatus,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from commerce_core.money import ensure_chargeable
from commerce_core.order.repository import OrderRepository
from commerce_core.order.schemas import CheckoutIn, OrderEventOut, OrderLineOut, OrderOut
from commerce_core.order.state import NOT_YET_SHIPPED
from commerce_core.outbox.repository import OutboxRepository
from commerce_core.params import CONTROL_RE
from commerce_core.pricing import shipping_cost, totals

NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
NUMBER_RE = re.compile(r"^[A-Za-z0-9-]{1,16}$")


class EmptyCart(CommerceError):
    code = "empty_cart"
    http_status = 409


class IdempotencyConflict(CommerceError):
    code = "idempotency_conflict"
    http_status = 409


class OrderNotCancellable(CommerceError):
    code = "order_not_cancellable"
    http_status = 409


def order_not_found(number: str) -> NotFound:
    """The same answer for a wrong number and for somebody else's order."""
    return NotFound(f"I can't find an order {number.upper()} for you.", code="order_not_found")


def _new_number(repo: OrderRepository) -> str:
    while True:
        number = "AT-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(6))
        if not repo.number_taken(number):
            return number


def checkout(*, session: Session, customer: Customer, details: CheckoutIn,
             now: datetime) -> Order:
    """Turn the customer's open cart into an order awaiting payment, holding its stock.

    Lines are re-quoted with today's rules and prices and frozen on the order; every line
    and the total must be an amount the shop may charge (more than zero, at most the
    maximum order total), whatever the rules say. Stock is
    taken with conditional UPDATEs, so concurrent checkouts can never oversell; on any
    failure the caller rolls back and nothing has changed.
    """
    carts = CartRepository(session)
    orders = OrderRepository(session)
    cart = carts.open_cart(customer.id, for_update=True)
    if cart is None or not cart.lines:
        raise EmptyCart("Your cart is empty.")
    today = now.date()
    priced = price_lines(session=session, cart=cart, today=today)
    for p in priced:
        check_line_total(quote=p.quote, quantity=p.line.quantity,
                         name=p.line.variant.product.name)
    subtotal = sum((p.line_total for p in priced), Decimal("0.00"))
    weight = sum(p.line.variant.weight_grams * p.line.quantity for p in priced)
    shipping = shipping_cost(country=details.address.country, weight_grams=weight,
                             subtotal=subtotal)
    total = totals(subtotal=subtotal, shipping=shipping, tax_rate=get_settings().tax_rate,
                   currency=cart.currency)
    ensure_chargeable(total.total, what="This order", currency=cart.currency,
                      advice="Please take something out of your cart, or ask the shop.")
    for p in sorted(priced, key=lambda p: p.line.variant_id):  # one lock order: no deadlock
        if not orders.reserve(p.line.variant_id, p.line.quantity):
            raise OutOfStock(f"Sorry, {p.line.variant.product.name} sold out while you were "
                             "shopping; please change your cart.",
                             details={"sku": p.line.variant.sku})
    ready_by = max((p.quote.ready_by for p in priced), default=today)
    order = Order(
        number=_new_number(orders), customer_id=customer.id, email=details.email,
        shipping_address=details.address.model_dump(), status=OrderStatus.PENDING_PAYMENT,
        payment_status=PaymentStatus.UNPAID, currency=cart.currency, subtotal=total.subtotal,
        shipping=total.shipping, tax=total.tax, total=total.total, ready_by=ready_by.isoformat(),
        reserved_until=now + timedelta(minutes=get_settings().reservation_minutes),
        lines=[OrderLine(variant_id=p.line.variant_id, sku=p.line.variant.sku,
                         name=p.line.variant.product.name, options=p.line.options,
                         unit_price=p.quote.unit_price, quantity=p.line.quantity,
                         line_total=p.line_total) for p in priced],
        events=[])
    session.add(order)
    if customer.email is None:
        customer.email = details.email
    cart.status = CartStatus.CHECKED_OUT
    session.flush()
    orders.record(order, event="placed", data={"total": str(order.total)})
    return order


def checkout_once(*, session: Session, customer: Customer, details: CheckoutIn, key: str,
                  now: datetime) -> tuple[Order, bool]:
    """:func:`checkout` at most once per Idempotency-Key of the customer: ``(order, placed)``.

    A request sent again with the key of a checkout that went through (the client never
    heard the answer: a replayed chat turn, a retry after a time-out) gets that order back,
    ``placed`` False, and nothing changes. A concurrent request with the same key waits on
    the cart's lock and then finds the cart checked out and the key's order committed.

    Raises:
        IdempotencyConflict: the same key placed an order in a request that committed
            between this one's checks (the caller rolls back; a retry gets the order).
    """
    orders = OrderRepository(session)
    if (placed := orders.by_checkout_key(customer.id, key)) is not None:
        return placed, False
    try:
        order = checkout(session=session, customer=customer, details=details, now=now)
    except EmptyCart:
        if (placed := orders.by_checkout_key(customer.id, key)) is not None:
            return placed, False
        raise
    if not orders.add_checkout_key(customer_id=customer.id, key=key, order_id=order.id):
        raise IdempotencyConflict("An order was placed with this Idempotency-Key by another "
                                  "request at the same moment; send it again to get it.")
    return order, True


def to_out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id, number=order.number, status=order.status.value,
        payment_status=order.payment_status.value, email=order.email,
        shipping_address=order.shipping_address, currency=order.currency,
        lines=[OrderLineOut(sku=x.sku, name=x.name, options=x.options, unit_price=x.unit_price,
                            quantity=x.quantity, line_total=x.line_total) for x in order.lines],
        subtotal=order.subtotal, shipping=order.shipping, tax=order.tax, total=order.total,
        ready_by=order.ready_by, reserved_until=order.reserved_until,
        created_at=order.created_at,
        events=[OrderEventOut(type=e.type, from_status=e.from_status, to_status=e.to_status,
                              at=e.created_at) for e in order.events])


def owned_order(*, session: Session, number: str, customer: Customer | None = None,
                email: str | None = None) -> Order:
    """An order by number, only for its owner (same customer, or the order's email)."""
    if not NUMBER_RE.match(number):  # no such number; and not a value for the database
        raise order_not_found(CONTROL_RE.sub("", number))
    order = OrderRepository(session).by_number(number)
    if order is None:
        raise order_not_found(number)
    owner = customer is not None and order.customer_id == customer.id
    by_email = email is not None and order.email.lower() == email.strip().lower()
    if not (owner or by_email):
        raise order_not_found(number)
    return order


def recent_orders(*, session: Session, customer: Customer, limit: int = 5) -> Sequence[Order]:
    return OrderRepository(session).for_customer(customer.id, limit)


def get_order(*, session: Session, order_id: int) -> Order:
    order = OrderRepository(session).get(order_id)
    if order is None:
        raise NotFound(f"There is no order with id {order_id}.", code="order_not_found")
    return order


def emit_order_event(*, session: Session, order: Order, kind: str, **extra: Any) -> None:
    """Tell of ``order.<kind>``, with who to tell (contract 5 of the team).

    It is written to the outbox in the caller's transaction, so it survives a crash after
    the commit and reaches a gateway that runs in another process; it is also queued for
    this process's subscribers after commit (which wakes a relay of this process at once).
    The customer's channel identities are read now, inside the transaction: the handlers
    run after commit without a session, and relationships are ``lazy="raise"``.
    """
    identities = OrderRepository(session).identities_of(order.customer_id)
    data: dict[str, Any] = {
        "order_id": order.id, "number": order.number, "customer_id": order.customer_id,
        "total": str(order.total), "currency": order.currency,
        "identities": [{"channel": i.channel, "external_id": i.external_id}
                       for i in identities],
        **extra}
    OutboxRepository(session).add(kind=f"order.{kind}", stream=f"order:{order.id}", data=data)
    emit(session, f"order.{kind}", **data)


def cancel_unpaid(*, session: Session, order: Order, reason: str) -> None:
    """Cancel an order that was never paid and give its stock back."""
    repo = OrderRepository(session)
    repo.transition(order, to=OrderStatus.CANCELLED, event="cancelled",
                    data={"reason": reason}, reserved_until=None)
    repo.release(order.lines)
    emit_order_event(session=session, order=order, kind="cancelled", reason=reason)


def expire_reservations(*, session: Session, now: datetime, limit: int = 500) -> int:
    """Cancel unpaid orders whose reservation ran out; returns how many."""
    repo = OrderRepository(session)
    count = 0
    for order_id in repo.expired_unpaid(now, limit):
        order = repo.get(order_id)
        if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
            continue
        with session.begin_nested():
            cancel_unpaid(session=session, order=order, reason="payment not received in time")
        count += 1
    return count


def mark_paid(*, session: Session, order: Order, payment_ref: str) -> None:
    OrderRepository(session).transition(
        order, to=OrderStatus.PAID, event="paid", data={"payment": payment_ref},
        payment_status=PaymentStatus.PAID, reserved_until=None)
    emit_order_event(session=session, order=order, kind="paid")


def mark_refunded(*, session: Session, order: Order, payment_ref: str) -> None:
    repo = OrderRepository(session)
    restock = order.status in NOT_YET_SHIPPED
    repo.transition(order, to=OrderStatus.REFUNDED, event="refunded",
                    data={"payment": payment_ref}, payment_status=PaymentStatus.REFUNDED)
    if restock:
        repo.release(order.lines)
    emit_order_event(session=session, order=order, kind="refunded")


def start_production(*, session: Session, order: Order) -> None:
    OrderRepository(session).transition(order, to=OrderStatus.IN_PRODUCTION,
                                        event="in_production")


def ready_by(order: Order) -> date:
    return date.fromisoformat(order.ready_by)
