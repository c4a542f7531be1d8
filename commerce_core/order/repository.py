"""All SQL of orders: guarded transitions, stock reservation and release."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import (
    ChannelIdentity,
    CheckoutKey,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Variant,
)
from commerce_core.order.state import OrderChanged, check_move


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, order_id: int) -> Order | None:
        return self.session.scalar(select(Order).where(Order.id == order_id)
                                   .options(selectinload(Order.lines),
                                            selectinload(Order.events)))

    def by_number(self, number: str) -> Order | None:
        return self.session.scalar(select(Order).where(Order.number == number.upper())
                                   .options(selectinload(Order.lines),
                                            selectinload(Order.events)))

    def for_customer(self, customer_id: int, limit: int) -> Sequence[Order]:
        return self.session.scalars(
            select(Order).where(Order.customer_id == customer_id)
            .order_by(Order.id.desc()).limit(limit)
            .options(selectinload(Order.lines), selectinload(Order.events))).all()

    def identities_of(self, customer_id: int) -> Sequence[ChannelIdentity]:
        """The channel identities a customer talks to the shop through (for notifications)."""
        return self.session.scalars(select(ChannelIdentity)
                                    .where(ChannelIdentity.customer_id == customer_id)
                                    .order_by(ChannelIdentity.id)).all()

    def by_checkout_key(self, customer_id: int, key: str) -> Order | None:
        """The order the customer's checkout with this Idempotency-Key placed, if any."""
        return self.session.scalar(
            select(Order).join(CheckoutKey, CheckoutKey.order_id == Order.id)
            .where(CheckoutKey.customer_id == customer_id, CheckoutKey.key == key)
            .options(selectinload(Order.lines), selectinload(Order.events)))

    def add_checkout_key(self, *, customer_id: int, key: str, order_id: int) -> bool:
        """Note that ``key`` placed the order; False (nothing noted) if it already placed
        one, in a request that committed meanwhile."""
        try:
            with self.session.begin_nested():
                self.session.add(CheckoutKey(customer_id=customer_id, key=key,
                                             order_id=order_id))
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def number_taken(self, number: str) -> bool:
        return self.session.scalar(select(Order.id).where(Order.number == number)) is not None

    def expired_unpaid(self, now: datetime, limit: int) -> Sequence[int]:
        return self.session.scalars(
            select(Order.id).where(Order.status == OrderStatus.PENDING_PAYMENT,
                                   Order.reserved_until < now)
            .order_by(Order.id).limit(limit)).all()

    def in_status(self, status: OrderStatus, limit: int) -> Sequence[int]:
        return self.session.scalars(select(Order.id).where(Order.status == status)
                                    .order_by(Order.id).limit(limit)).all()

    def reserve(self, variant_id: int, quantity: int) -> bool:
        """Take ``quantity`` units if that many are left; False (nothing taken) otherwise."""
        result = self.session.execute(
            update(Variant).where(Variant.id == variant_id, Variant.stock >= quantity)
            .values(stock=Variant.stock - quantity).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def release(self, lines: Sequence[OrderLine]) -> None:
        for line in sorted(lines, key=lambda x: x.variant_id or 0):
            if line.variant_id is not None:
                self.session.execute(
                    update(Variant).where(Variant.id == line.variant_id)
                    .values(stock=Variant.stock + line.quantity)
                    .execution_options(synchronize_session=False))

    def transition(self, order: Order, *, to: OrderStatus, event: str,
                   data: dict[str, Any] | None = None, **values: Any) -> None:
        """Move ``order`` from its current status to ``to``, or fail without changing it.

        The UPDATE matches the status the caller saw, so of two concurrent requests only
        one can win; the loser gets OrderChanged. The event row is written in the same
        transaction.
        """
        expected = order.status
        check_move(expected, to)
        result = self.session.execute(
            update(Order).where(Order.id == order.id, Order.status == expected)
            .values(status=to, **values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise OrderChanged(f"Order {order.number} was changed by someone else just now; "
                               "please look at it again.")
        order.events.append(OrderEvent(order_id=order.id, type=event,
                                       from_status=expected.value, to_status=to.value,
                                       data=data or {}))
        self.session.flush()
        self.session.refresh(order, attribute_names=["status", "updated_at", *values])

    def record(self, order: Order, *, event: str, data: dict[str, Any] | None = None) -> None:
        """An event that does not change the status (payment link sent, refund asked…)."""
        order.events.append(OrderEvent(order_id=order.id, type=event, data=data or {}))
        self.session.flush()
