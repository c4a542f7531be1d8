"""All SQL of carts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import Cart, CartLine, CartStatus, Product, Variant


class CartRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open_cart(self, customer_id: int, *, for_update: bool = False) -> Cart | None:
        query = (select(Cart).where(Cart.customer_id == customer_id,
                                    Cart.status == CartStatus.OPEN)
                 .options(selectinload(Cart.lines).selectinload(CartLine.variant)
                          .selectinload(Variant.product).selectinload(Product.variants)))
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def variant(self, *, variant_id: int | None = None, sku: str | None = None) -> Variant | None:
        query = select(Variant).options(
            selectinload(Variant.product).selectinload(Product.variants))
        if variant_id is not None:
            query = query.where(Variant.id == variant_id)
        else:
            query = query.where(Variant.sku == (sku or "").upper())
        return self.session.scalar(query)

    def add(self, obj: Cart | CartLine) -> None:
        self.session.add(obj)
