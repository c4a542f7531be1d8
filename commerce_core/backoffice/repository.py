"""All SQL of the back office's lists: orders, return requests, stock."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from commerce_core.models import Order, OrderEvent, OrderStatus, Product, Shipment, Variant


def _matches(query: str) -> ColumnElement[bool]:
    """An order whose number, email or addressee contains ``query`` (any case)."""
    needle = query.lower()
    return or_(func.lower(Order.number).contains(needle, autoescape=True),
               func.lower(Order.email).contains(needle, autoescape=True),
               func.lower(Order.shipping_address["name"].as_string()).contains(
                   needle, autoescape=True))


RETURN_EVENTS = ("return_requested", "return_accepted", "return_refused")


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

    def return_requests(self, *, open_only: bool, offset: int, limit: int
                        ) -> tuple[Sequence[Order], int]:
        """Orders a shopper asked to return, latest request first, with their events, and
        how many there are in all. ``open_only``: those whose return waits for an answer,
        or was accepted and not refunded yet (``payment.returns.return_state`` reads the
        same events)."""
        asked = (select(OrderEvent.order_id, func.max(OrderEvent.id).label("last"))
                 .where(OrderEvent.type == "return_requested")
                 .group_by(OrderEvent.order_id).subquery())
        query: Select[tuple[Order]] = select(Order).join(asked, asked.c.order_id == Order.id)
        if open_only:
            step = (select(OrderEvent.order_id, func.max(OrderEvent.id).label("last"))
                    .where(OrderEvent.type.in_(RETURN_EVENTS))
                    .group_by(OrderEvent.order_id).subquery())
            latest = aliased(OrderEvent)
            query = (query.join(step, step.c.order_id == Order.id)
                     .join(latest, latest.id == step.c.last)
                     .where(or_(latest.type == "return_requested",
                                and_(latest.type == "return_accepted",
                                     Order.status != OrderStatus.REFUNDED))))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(
            query.order_by(asked.c.last.desc()).offset(offset).limit(limit)
            .options(selectinload(Order.lines), selectinload(Order.events))).all()
        return rows, total

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
