from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from commerce_core.auth import require_service
from commerce_core.errors import InvalidInput
from knowledge.schemas import SearchMatch, SearchResponse, SearchResultItem
from knowledge.search import SearchFilters, describe_filters, search
from knowledge.service import KnowledgeService

router = APIRouter(tags=["search"], dependencies=[Depends(require_service)])
ATTR_NAME_RE = re.compile(r"^[a-z][a-z0-9_ ]{0,39}$")
MAX_ATTR_FILTERS = 10


def get_knowledge(request: Request) -> KnowledgeService:
    return request.app.state.knowledge


KnowledgeDep = Annotated[KnowledgeService, Depends(get_knowledge)]
Price = Annotated[Decimal | None, Query(ge=0, le=1_000_000, max_digits=9, decimal_places=2)]


def attribute_filters(request: Request) -> dict[str, tuple[str, ...]]:
    """``attr.<name>=v1,v2`` query parameters → {name: (v1, v2)}."""
    out: dict[str, tuple[str, ...]] = {}
    for key, raw in request.query_params.multi_items():
        if not key.startswith("attr."):
            continue
        name = key[5:].strip().lower()
        if not ATTR_NAME_RE.match(name):
            raise InvalidInput(f"{key!r} is not a valid attribute filter", code="invalid_filter")
        values = tuple(v.strip().lower() for v in raw.split(",") if v.strip())
        if not values or any(len(v) > 100 for v in values):
            raise InvalidInput(f"{key!r} needs one or more values of at most 100 characters",
                               code="invalid_filter")
        out[name] = tuple(dict.fromkeys(out.get(name, ()) + values))
    if len(out) > MAX_ATTR_FILTERS:
        raise InvalidInput(f"at most {MAX_ATTR_FILTERS} attribute filters",
                           code="invalid_filter")
    return out


@router.get("/products/search", response_model=SearchResponse)
async def search_products(
    knowledge: KnowledgeDep,
    attributes: Annotated[dict[str, tuple[str, ...]], Depends(attribute_filters)],
    q: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    min_price: Price = None,
    max_price: Price = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    in_stock: bool = False,
) -> SearchResponse:
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidInput("min_price is above max_price", code="invalid_filter")
    filters = SearchFilters(min_price=min_price, max_price=max_price,
                            category=category.lower() if category else None,
                            attributes=attributes, in_stock=in_stock)
    hits = await run_in_threadpool(search, index=knowledge.index, embedder=knowledge.embedder,
                                   query=q, limit=limit, filters=filters)
    return SearchResponse(
        query=q,
        filters=describe_filters(filters),
        results=[
            SearchResultItem(
                id=h.doc.id, sku=h.variant.sku, name=h.doc.name, category=h.doc.category,
                price=h.variant.price, currency=h.doc.currency, image_url=h.doc.image_url,
                in_stock=h.variant.stock > 0, attributes=h.variant.attributes, score=h.score,
                dense_score=h.dense_score, lexical_score=h.lexical_score,
                matched=SearchMatch(terms=h.matched_terms, filters=h.matched_filters),
            )
            for h in hits
        ],
    )
