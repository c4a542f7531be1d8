"""All SQL of payments: payments, processed webhook events, an order's payment status."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from commerce_core.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentState,
    PaymentStatus,
    WebhookEvent,
)


class PaymentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, payment_id: int) -> Payment | None:
        return self.session.get(Payment, payment_id)

    def by_token(self, token: str, *, for_update: bool = False) -> Payment | None:
        """The payment behind a page link or an event; ``for_update`` locks its row
        (PostgreSQL; SQLite transactions already hold the database's write lock)."""
        query = select(Payment).where(Payment.token == token)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query.execution_options(populate_existing=True))

    def by_idempotency_key(self, key: str) -> Payment | None:
        return self.session.scalar(select(Payment).where(Payment.idempotency_key == key))

    def for_order(self, order_id: int) -> Sequence[Payment]:
        return self.session.scalars(select(Payment).where(Payment.order_id == order_id)
                                    .order_by(Payment.id)).all()

    def add(self, payment: Payment) -> bool:
        """Insert ``payment``; False (nothing inserted) if its token or key already exists."""
        try:
            with self.session.begin_nested():
                self.session.add(payment)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def move(self, payment: Payment, *, to: PaymentState, expected: Collection[PaymentState],
             **values: Any) -> bool:
        """Set the state of ``payment`` if it is still one of ``expected``; False otherwise."""
        result = self.session.execute(
            update(Payment).where(Payment.id == payment.id, Payment.state.in_(list(expected)))
            .values(state=to, **values).execution_options(synchronize_session=False))
        self.session.refresh(payment)
        return result.rowcount == 1

    def touch(self, payment: Payment, **values: Any) -> None:
        self.session.execute(update(Payment).where(Payment.id == payment.id).values(**values)
                             .execution_options(synchronize_session=False))
        self.session.refresh(payment)

    def event_seen(self, event_id: str) -> bool:
        return self.session.scalar(
            select(WebhookEvent.id).where(WebhookEvent.id == event_id)) is not None

    def add_event(self, event: WebhookEvent) -> bool:
        """Record a processed event; False if its id is already recorded.

        Two deliveries of one event racing each other both get here; on PostgreSQL the
        second INSERT waits for the first transaction and then violates the primary key.
        The savepoint keeps the rest of the transaction usable so it can answer
        "duplicate" instead of failing.
        """
        try:
            with self.session.begin_nested():
                self.session.add(event)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def count_events(self) -> int:
        return self.session.scalar(select(func.count()).select_from(WebhookEvent)) or 0

    def set_order_payment_status(self, order: Order, *, to: PaymentStatus,
                                 expected: PaymentStatus,
                                 statuses: Collection[OrderStatus]) -> bool:
        """Change only the payment side of an order, guarded like a status transition.

        Returns False (nothing changed) when the order has meanwhile left ``statuses`` or
        its payment status is no longer ``expected`` — e.g. a refund was already asked.
        """
        result = self.session.execute(
            update(Order).where(Order.id == order.id, Order.payment_status == expected,
                                Order.status.in_(list(statuses)))
            .values(payment_status=to).execution_options(synchronize_session=False))
        self.session.refresh(order, attribute_names=["status", "payment_status", "updated_at"])
        return result.rowcount == 1
