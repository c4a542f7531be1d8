"""The rules that apply to a product: its category's, overridden by its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.customization.engine import Quote, evaluate
from commerce_core.models import Product, Variant
from commerce_core.money import ensure_chargeable


def product_rules(*, session: Session, product: Product) -> tuple[list[dict[str, Any]], int]:
    """(options, base_days) for a product; product files override category files by name."""
    rule_sets = CatalogRepository(session).rule_sets_for(
        category=product.category, skus=[v.sku for v in product.variants])
    options: dict[str, dict[str, Any]] = {}
    base_days = 1
    for rule_set in sorted(rule_sets, key=lambda r: r.scope_kind != "category"):
        for option in rule_set.spec.get("options", []):
            options[option["name"]] = option
        if "base_days" in rule_set.spec:
            base_days = int(rule_set.spec["base_days"])
    return list(options.values()), base_days


def quote_variant(*, session: Session, product: Product, variant: Variant,
                  chosen: dict[str, Any], today: date) -> Quote:
    """Price and ready-by date of one unit of ``variant`` with the shopper's choices.

    Raises:
        InvalidCustomization: with every violated rule, in the rule's words.
        AmountNotPositive, AmountTooLarge: the rules price it at zero or less, or above
            the shop's maximum — never sold like that, whatever the rules say.
    """
    options, base_days = product_rules(session=session, product=product)
    quote = evaluate(options=options, attributes={**product.attributes, **variant.attributes},
                     chosen=chosen, base_price=Decimal(variant.price), currency=variant.currency,
                     today=today, base_days=base_days)
    ensure_chargeable(quote.unit_price, what=f"{product.name} with these options",
                      currency=quote.currency,
                      advice="Please choose other options, or ask the shop.")
    return quote
