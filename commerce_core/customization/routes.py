from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from commerce_core import clock
from commerce_core.auth import ServiceDep
from commerce_core.catalog.repository import CatalogRepository
from commerce_core.customization.prompts import prompt
from commerce_core.customization.rules import (
    MAX_OPTIONS,
    ChoiceOption,
    Name,
    Option,
    TextOption,
)
from commerce_core.customization.service import next_step, quote_variant
from commerce_core.db import SessionDep
from commerce_core.errors import NotFound, error_responses
from commerce_core.models import Product, Variant
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
    product, variant = _product_variant(session, product_id, body.variant_id)
    result = quote_variant(session=session, product=product, variant=variant,
                           chosen=body.options, today=clock.now().date())
    return QuoteOut(
        product_id=product.id, variant_id=variant.id, sku=variant.sku,
        base_price=result.base_price, unit_price=result.unit_price, currency=result.currency,
        making_days=result.making_days, ready_by=result.ready_by.isoformat(),
        lines=[QuoteLineOut(option=x.option, label=x.label, value=x.value,
                            price_delta=x.price_delta, extra_days=x.extra_days)
               for x in result.lines])


def _product_variant(session: Session, product_id: int, variant_id: int | None
                     ) -> tuple[Product, Variant]:
    """The product and its variant ``variant_id`` (by default its first).

    Raises:
        NotFound: no such product, or no such variant of it.
    """
    product = CatalogRepository(session).get_product(product_id)
    if product is None:
        raise NotFound(f"There is no product with id {product_id}.", code="product_not_found")
    variant = next((v for v in product.variants
                    if variant_id is None or v.id == variant_id), None)
    if variant is None:
        raise NotFound(f"{product.name} has no variant {variant_id}.",
                       code="variant_not_found")
    return product, variant


class NextOptionIn(QuoteIn):
    """``variant_id`` is the variant the shopper chose; without it, the options are those
    the product page lists and the choices are checked with the first variant."""

    asked: list[Name] = Field(default_factory=list, max_length=2 * MAX_OPTIONS + 1)
    """Options already asked, answered or declined (names the product does not offer
    are ignored)."""


class OptionToAsk(BaseModel):
    name: str
    label: str
    kind: Literal["choice", "text", "boolean"]
    required: bool
    prompt: str
    """The question, in the shop's words, with the price and making days it adds."""
    values: list[str] = Field(default_factory=list)
    """The allowed values of a choice."""
    max_length: int | None = None
    min_length: int | None = None
    charset: str | None = None
    """What a text may hold, as the shop says it ("letters and spaces")."""
    price_delta: Decimal | None = None
    price_delta_percent: Decimal | None = None
    extra_days: int


class ProblemOut(BaseModel):
    option: str
    """The option the problem is with; ``*`` for the choices as a whole."""
    code: str
    message: str


class NextOptionOut(BaseModel):
    product_id: int
    variant_id: int
    problems: list[ProblemOut]
    """Every rule the choices so far break, in the shop's words."""
    option: OptionToAsk | None
    """The next option to ask; none when every option that applies was asked."""


def _to_ask(option: Option, currency: str) -> OptionToAsk:
    return OptionToAsk(
        name=option.name, label=option.title, kind=option.kind, required=option.required,
        prompt=prompt(option, currency=currency),
        values=list(option.values) if isinstance(option, ChoiceOption) else [],
        max_length=option.max_length if isinstance(option, TextOption) else None,
        min_length=option.min_length if isinstance(option, TextOption) else None,
        charset=option.charset if isinstance(option, TextOption) else None,
        price_delta=option.price_delta, price_delta_percent=option.price_delta_percent,
        extra_days=option.extra_days)


@router.post("/products/{product_id:int}/next-option", response_model=NextOptionOut,
             responses=error_responses(401, 404, 409, 413, 422))
def next_option(_: ServiceDep, session: SessionDep, product_id: ProductId,
                body: NextOptionIn) -> NextOptionOut:
    """The next option to ask a shopper personalising a product one option at a time,
    given the choices so far, and every rule those choices break."""
    product, variant = _product_variant(session, product_id, body.variant_id)
    step = next_step(session=session, product=product, variant=variant,
                     variant_chosen=body.variant_id is not None, chosen=body.options,
                     asked=set(body.asked), today=clock.now().date())
    return NextOptionOut(
        product_id=product.id, variant_id=variant.id,
        problems=[ProblemOut(option=p.option, code=p.code, message=p.message)
                  for p in step.problems],
        option=None if step.option is None else _to_ask(step.option, variant.currency))
