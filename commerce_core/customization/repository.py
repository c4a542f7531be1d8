"""All SQL of the customisation rules."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from commerce_core.models import CustomizationRuleSet, Product, Variant


class RuleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def rule_set(self, *, scope_kind: str, scope_value: str) -> CustomizationRuleSet | None:
        return self.session.scalar(select(CustomizationRuleSet).where(
            CustomizationRuleSet.scope_kind == scope_kind,
            CustomizationRuleSet.scope_value == scope_value))

    def all_rule_sets(self) -> Sequence[CustomizationRuleSet]:
        """Every rule set: a shop has a handful (one per category, a few per product)."""
        return self.session.scalars(select(CustomizationRuleSet)).all()

    def products_in_scope(self, *, scope_kind: str, scope_value: str) -> Sequence[Product]:
        """The products a category's or a SKU's rules apply to, with their variants."""
        query = select(Product).options(selectinload(Product.variants)).order_by(Product.id)
        if scope_kind == "category":
            query = query.where(Product.category == scope_value)
        else:
            query = query.where(Product.id.in_(
                select(Variant.product_id).where(Variant.sku == scope_value)))
        return self.session.scalars(query).all()

    def add(self, rule_set: CustomizationRuleSet) -> None:
        self.session.add(rule_set)

    def delete(self, *, scope_kind: str, scope_value: str) -> None:
        self.session.execute(delete(CustomizationRuleSet).where(
            CustomizationRuleSet.scope_kind == scope_kind,
            CustomizationRuleSet.scope_value == scope_value))
