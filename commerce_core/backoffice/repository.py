"""All SQL of the back office's lists: orders, return requests, stock."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import Order, OrderEvent, OrderStatus, Product, Shipment, Variant


def _matches(query: str) -> ColumnElement[bool]:
    """An order whose number, email or addressee contains ``query`` (any case)."""
    needle = query.lower()
    return or_(func.lower(Order.number).contains(needle, autoescape=True),
               func.lower(Order.email).contains(needle, autoescape=True),
               func.lower(Order.shipping_address["name"].as_string()).contains(
                   needle, autoescape=True))


class BackOfficeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def orders(self, *, status: OrderStatus | None, query: str, offset: int,
               limit: int) -> tuple[Sequence[Order], int]:
        """Newest first, and how many match in all."""
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(Order.status == status)
        if query:
            conditions.append(_matches(query))
        rows = self.session.scalars(select(Order).where(*conditions)
                                    .order_by(Order.created_at.desc(), Order.id.desc())
                                    .offset(offset).limit(limit)).all()
        total = self.session.scalar(select(func.count(Order.id)).where(*conditions)) or 0
        return rows, total

    def status_counts(self) -> dict[OrderStatus, int]:
        return {OrderStatus(status): count for status, count in self.session.execute(
            select(Order.status, func.count(Order.id)).group_by(Order.status))}

    def order(self, number: str) -> Order | None:
        return self.session.scalar(select(Order).where(Order.number == number.upper())
                                   .options(selectinload(Order.lines),
                                            selectinload(Order.events)))

    def shipment(self, order_id: int) -> Shipment | None:
        return self.session.scalar(select(Shipment).where(Shipment.order_id == order_id))

    def with_return_requests(self, limit: int) -> Sequence[Order]:
        """Orders a shopper asked to return, latest request first, with their events."""
        asked = (select(OrderEvent.order_id, func.max(OrderEvent.id).label("last"))
                 .where(OrderEvent.type == "return_requested")
                 .group_by(OrderEvent.order_id).subquery())
        query: Select[tuple[Order]] = (
            select(Order).join(asked, asked.c.order_id == Order.id)
            .order_by(asked.c.last.desc()).limit(limit)
            .options(selectinload(Order.lines), selectinload(Order.events)))
        return self.session.scalars(query).all()

    def products(self) -> Sequence[Product]:
        return self.session.scalars(select(Product).order_by(Product.category, Product.name)
                                    .options(selectinload(Product.variants))).all()

    def variant(self, variant_id: int) -> Variant | None:
        return self.session.get(Variant, variant_id)

    def set_variant(self, variant: Variant, *, expected_stock: int, **values: object) -> bool:
        """Change a variant if its stock is still what the owner saw; False otherwise (a
        checkout took some meanwhile, and the owner should look again)."""
        result = self.session.execute(
            update(Variant).where(Variant.id == variant.id, Variant.stock == expected_stock)
            .values(**values).execution_options(synchronize_session=False))
        self.session.refresh(variant)
        return result.rowcount == 1
