"""All SQL of the catalog."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import CustomizationRuleSet, Product, Variant


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list_products(self, *, category: str | None, limit: int, offset: int
                      ) -> tuple[Sequence[Product], int]:
        query = select(Product)
        count = select(func.count(Product.id))
        if category:
            query = query.where(Product.category == category)
            count = count.where(Product.category == category)
        rows = self.session.scalars(
            query.options(selectinload(Product.variants)).order_by(Product.id)
            .limit(limit).offset(offset)
        ).all()
        return rows, self.session.scalar(count) or 0

    def get_products(self, ids: Sequence[int]) -> dict[int, Product]:
        if not ids:
            return {}
        rows = self.session.scalars(
            select(Product).where(Product.id.in_(ids)).options(selectinload(Product.variants))
        ).all()
        return {p.id: p for p in rows}

    def get_product(self, product_id: int) -> Product | None:
        return self.session.scalar(
            select(Product).where(Product.id == product_id)
            .options(selectinload(Product.variants))
        )

    def all_products(self) -> Sequence[Product]:
        return self.session.scalars(
            select(Product).options(selectinload(Product.variants)).order_by(Product.id)
        ).all()

    def product_by_handle(self, handle: str) -> Product | None:
        return self.session.scalar(
            select(Product).where(Product.handle == handle)
            .options(selectinload(Product.variants))
        )

    def variants_by_sku(self, skus: Sequence[str]) -> dict[str, Variant]:
        if not skus:
            return {}
        rows = self.session.scalars(
            select(Variant).where(Variant.sku.in_(skus)).options(selectinload(Variant.product))
        ).all()
        return {v.sku: v for v in rows}

    def add(self, obj: Product | Variant | CustomizationRuleSet) -> None:
        self.session.add(obj)

    def rule_sets_for(self, *, category: str, skus: Sequence[str]) -> list[CustomizationRuleSet]:
        query = select(CustomizationRuleSet).where(
            ((CustomizationRuleSet.scope_kind == "category")
             & (CustomizationRuleSet.scope_value == category))
            | ((CustomizationRuleSet.scope_kind == "sku")
               & (CustomizationRuleSet.scope_value.in_(list(skus) or [""])))
        ).order_by(CustomizationRuleSet.scope_kind)
        return list(self.session.scalars(query).all())

    def rule_set(self, *, scope_kind: str, scope_value: str) -> CustomizationRuleSet | None:
        return self.session.scalar(
            select(CustomizationRuleSet).where(
                CustomizationRuleSet.scope_kind == scope_kind,
                CustomizationRuleSet.scope_value == scope_value,
            )
        )
