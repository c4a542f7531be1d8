from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from commerce_core import clock
from commerce_core.auth import ServiceDep
from commerce_core.catalog.repository import CatalogRepository
from commerce_core.customization.service import quote_variant
from commerce_core.db import SessionDep
from commerce_core.errors import NotFound, error_responses
from commerce_core.params import ProductId

router = APIRouter(tags=["customisation"])


class QuoteIn(BaseModel):
    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    """Defaults to the product's first variant."""
    options: dict[str, Any] = Field(default_factory=dict, max_length=20)


class QuoteLineOut(BaseModel):
    option: str
    label: str
    value: str | bool
    price_delta: Decimal
    extra_days: int


class QuoteOut(BaseModel):
    product_id: int
    variant_id: int
    sku: str
    base_price: Decimal
    unit_price: Decimal
    currency: str
    making_days: int
    ready_by: str
    lines: list[QuoteLineOut]


@router.post("/products/{product_id:int}/quote", response_model=QuoteOut,
             responses={**error_responses(401, 404, 413, 422),
                        422: {**error_responses(422)[422],
                              "description": "every violated rule, in the shop's words"}})
def quote(_: ServiceDep, session: SessionDep, product_id: ProductId, body: QuoteIn) -> QuoteOut:
    """Price and ready-by date for chosen options, or every rule they break."""
    product = CatalogRepository(session).get_product(product_id)
    if product is None:
        raise NotFound(f"There is no product with id {product_id}.", code="product_not_found")
    variant = next((v for v in product.variants
                    if body.variant_id is None or v.id == body.variant_id), None)
    if variant is None:
        raise NotFound(f"{product.name} has no variant {body.variant_id}.",
                       code="variant_not_found")
    result = quote_variant(session=session, product=product, variant=variant,
                           chosen=body.options, today=clock.now().date())
    return QuoteOut(
        product_id=product.id, variant_id=variant.id, sku=variant.sku,
        base_price=result.base_price, unit_price=result.unit_price, currency=result.currency,
        making_days=result.making_days, ready_by=result.ready_by.isoformat(),
        lines=[QuoteLineOut(option=x.option, label=x.label, value=x.value,
                            price_delta=x.price_delta, extra_days=x.extra_days)
               for x in result.lines])
