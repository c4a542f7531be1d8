"""Catalog rules: how products are presented and what options they offer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.catalog.schemas import ProductDetail, ProductPage, ProductSummary, VariantOut
from commerce_core.errors import NotFound
from commerce_core.models import Product


def summarize(product: Product) -> ProductSummary:
    prices = [v.price for v in product.variants]
    return ProductSummary(
        id=product.id,
        handle=product.handle,
        name=product.name,
        category=product.category,
        price=min(prices) if prices else 0,
        currency=product.currency,
        image_url=product.image_url,
        in_stock=any(v.stock > 0 for v in product.variants),
        attributes=product.attributes,
    )


def list_products(*, session: Session, category: str | None, limit: int, offset: int
                  ) -> ProductPage:
    rows, total = CatalogRepository(session).list_products(
        category=category, limit=limit, offset=offset
    )
    return ProductPage(items=[summarize(p) for p in rows], total=total, limit=limit,
                       offset=offset)


def customization_options(*, session: Session, product: Product) -> list[dict[str, Any]]:
    """Options of the category's rule set, overridden option by option by the product's."""
    rule_sets = CatalogRepository(session).rule_sets_for(
        category=product.category, skus=[v.sku for v in product.variants]
    )
    options: dict[str, dict[str, Any]] = {}
    for rule_set in sorted(rule_sets, key=lambda r: r.scope_kind != "category"):
        for option in rule_set.spec.get("options", []):
            options[option["name"]] = option
    return list(options.values())


def get_product(*, session: Session, product_id: int) -> ProductDetail:
    product = CatalogRepository(session).get_product(product_id)
    if product is None:
        raise NotFound(f"There is no product with id {product_id}.", code="product_not_found")
    summary = summarize(product)
    return ProductDetail(
        **summary.model_dump(),
        description=product.description,
        variants=[VariantOut.model_validate(v) for v in product.variants],
        customization=customization_options(session=session, product=product),
    )
