"""``GET /api/recommendations``: products for a shopper, each with its score and reason."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from commerce_core.auth import require_service
from commerce_core.customer.service import check_identity
from commerce_core.errors import InvalidInput, NotFound, error_responses
from knowledge.recommend.service import Recommendation, RecommendService, UnknownProduct

router = APIRouter(tags=["recommendations"], dependencies=[Depends(require_service)])
MAX_REFS = 50
REF_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def get_recommender(request: Request) -> RecommendService:
    """``async``: a plain read, not worth a trip through the thread pool."""
    return request.app.state.recommender


RecommenderDep = Annotated[RecommendService, Depends(get_recommender)]


class RecommendedProduct(BaseModel):
    id: int
    sku: str = Field(description="the cheapest variant in stock")
    name: str
    category: str
    price: Decimal
    currency: str
    image_url: str
    score: float
    reason: str = Field(description="one line for the shopper, e.g. 'bought together with "
                                    "the Cobalt Mug 14 times'")
    signal: str = Field(description="ease, cosine, content or popularity: what gave most")


class RecommendationsOut(BaseModel):
    shopper: str | None
    cart: list[int]
    product: int | None
    bought: list[int] = Field(description="the shopper's past purchases that spoke for the "
                                          "answer, most recent first (empty: no history)")
    results: list[RecommendedProduct]


def _refs(raw: str | None, what: str) -> list[str]:
    """``a,b,c`` → product references (ids or SKUs)."""
    if raw is None:
        return []
    refs = [r.strip() for r in raw.split(",") if r.strip()]
    if len(refs) > MAX_REFS:
        raise InvalidInput(f"{what}: at most {MAX_REFS} products", code="invalid_products")
    for ref in refs:
        if not REF_RE.match(ref):
            raise InvalidInput(f"{what}: {ref[:70]!r} is neither a product id nor a SKU",
                               code="invalid_products")
    return refs


def _shopper(raw: str | None) -> tuple[str, str] | None:
    if raw is None:
        return None
    channel, sep, external_id = raw.partition(":")
    if not sep:
        raise InvalidInput("shopper must be <channel>:<id>, e.g. web:3f9a…",
                           code="invalid_identity")
    check_identity(channel, external_id)
    return channel, external_id


@router.get("/recommendations", response_model=RecommendationsOut,
            responses=error_responses(401, 404, 422))
async def recommendations(
    recommender: RecommenderDep,
    shopper: Annotated[str | None, Query(max_length=150, description=(
        "<channel>:<id>: the shopper's past orders count too"))] = None,
    cart: Annotated[str | None, Query(max_length=4000, description=(
        "products in the cart (ids or SKUs, comma-separated): never recommended"))] = None,
    product: Annotated[str | None, Query(max_length=64, description=(
        "the product being viewed (id or SKU)"))] = None,
    exclude: Annotated[str | None, Query(max_length=4000, description=(
        "products the shopper declined (ids or SKUs): never recommended"))] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationsOut:
    """Products for this shopper, best first; never one in the cart, viewed, excluded or
    out of stock. Each says why (``reason``)."""
    identity = _shopper(shopper)
    cart_refs, excluded = _refs(cart, "cart"), _refs(exclude, "exclude")
    product_refs = _refs(product, "product")
    if len(product_refs) > 1:
        raise InvalidInput("product: one product", code="invalid_products")

    def answer() -> tuple[list[int], int | None, list[int], list[Recommendation]]:
        try:
            in_cart = recommender.resolve(cart_refs)
            viewed = recommender.resolve(product_refs)
            declined = recommender.resolve(excluded)
        except UnknownProduct as exc:
            raise NotFound(f"There is no product {exc.ref!r}.",
                           code="product_not_found") from None
        bought = recommender.history_of(channel=identity[0], external_id=identity[1]
                                        ) if identity else []
        view = viewed[0] if viewed else None
        return in_cart, view, bought, recommender.recommend(
            cart=in_cart, product=view, bought=bought, exclude=declined, limit=limit)

    in_cart, view, bought, found = await run_in_threadpool(answer)
    return RecommendationsOut(
        shopper=shopper, cart=in_cart, product=view, bought=bought,
        results=[RecommendedProduct(
            id=r.doc.id, sku=r.sku, name=r.doc.name, category=r.doc.category, price=r.price,
            currency=r.doc.currency, image_url=r.doc.image_url, score=round(r.score, 6),
            reason=r.reason, signal=r.signal) for r in found])
