"""All SQL of planning: what was sold, and the paid orders still to make."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import Order, OrderLine, OrderStatus

SOLD = (OrderStatus.PAID, OrderStatus.IN_PRODUCTION, OrderStatus.SHIPPED,
        OrderStatus.DELIVERED, OrderStatus.REFUNDED)
"""Orders that were paid: demand, even when refunded later. Unpaid and cancelled orders
are not: a reservation that lapsed was never a sale."""
TO_MAKE = (OrderStatus.PAID, OrderStatus.IN_PRODUCTION)


@dataclass(frozen=True)
class SoldLine:
    variant_id: int | None
    sku: str
    at: datetime
    quantity: int
    options: dict[str, Any]


class PlanningRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def sold_lines(self, *, since: datetime, until: datetime) -> list[SoldLine]:
        """Lines of paid orders placed in [since, until), oldest first."""
        rows = self.session.execute(
            select(OrderLine.variant_id, OrderLine.sku, Order.created_at, OrderLine.quantity,
                   OrderLine.options)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.status.in_(SOLD), Order.created_at >= since, Order.created_at < until)
            .order_by(Order.created_at, OrderLine.id)).all()
        return [SoldLine(variant_id=r[0], sku=r[1], at=r[2], quantity=int(r[3]),
                         options=dict(r[4] or {})) for r in rows]

    def orders_to_make(self) -> Sequence[Order]:
        """Paid orders not yet shipped, with their lines, earliest promise first."""
        return self.session.scalars(
            select(Order).where(Order.status.in_(TO_MAKE))
            .options(selectinload(Order.lines))
            .order_by(Order.ready_by, Order.id)).all()
