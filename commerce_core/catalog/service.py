"""Catalog rules: how products are presented and what options they offer."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.catalog.schemas import ProductDetail, ProductPage, ProductSummary, VariantOut
from commerce_core.customization.engine import applicable_options
from commerce_core.customization.rules import as_dict
from commerce_core.customization.service import CustomizationUnavailable, product_rules
from commerce_core.errors import NotFound
from commerce_core.models import Product
from commerce_core.review.schemas import RatingOut
from commerce_core.review.service import ratings


def summarize(product: Product, rating: RatingOut | None = None) -> ProductSummary:
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
        rating=rating,
    )


def list_products(*, session: Session, category: str | None, limit: int, offset: int
                  ) -> ProductPage:
    rows, total = CatalogRepository(session).list_products(
        category=category, limit=limit, offset=offset
    )
    stars = ratings(session=session, product_ids=[p.id for p in rows])
    return ProductPage(items=[summarize(p, stars.get(p.id)) for p in rows], total=total,
                       limit=limit, offset=offset)


def customization_options(*, session: Session, product: Product) -> list[dict[str, Any]]:
    """The options a shopper may be offered for this product (category + product rules).

    None while its stored rules do not parse: the product page still opens, and a quote
    says why it cannot be personalised (the broken rules are logged there).
    """
    try:
        rules = product_rules(session=session, product=product)
    except CustomizationUnavailable:
        return []
    return [as_dict(o) for o in applicable_options(options=rules.options,
                                                   attributes=product.attributes)]


def get_product(*, session: Session, product_id: int) -> ProductDetail:
    product = CatalogRepository(session).get_product(product_id)
    if product is None:
        raise NotFound(f"There is no product with id {product_id}.", code="product_not_found")
    summary = summarize(product, ratings(session=session, product_ids=[product_id])
                        .get(product_id))
    return ProductDetail(
        **summary.model_dump(),
        description=product.description,
        variants=[VariantOut.model_validate(v) for v in product.variants],
        customization=customization_options(session=session, product=product),
    )
