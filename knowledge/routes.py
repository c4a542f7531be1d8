"""``GET /api/products/search``: hybrid search with filters, soft preferences and
"more like this one"; every result says why it matched. With ``interpret=true`` the
words are read against the live catalog first (``knowledge.understanding``) and the
response says what was read; ``POST /api/products/interpret`` reads without searching."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from commerce_core.auth import require_service
from commerce_core.db import SessionDep
from commerce_core.errors import InvalidInput, NotFound, error_response, error_responses
from knowledge import gaps, understanding
from knowledge.schemas import (
    Interpretation,
    InterpretRequest,
    NamedProduct,
    SearchMatch,
    SearchResponse,
    SearchResultItem,
    Understood,
)
from knowledge.search import (
    SearchFilters,
    SearchHit,
    UnknownProduct,
    describe_boosts,
    describe_filters,
    search,
)
from knowledge.service import KnowledgeService
from knowledge.understood_search import search_understood

router = APIRouter(tags=["search"], dependencies=[Depends(require_service)],
                   responses=error_responses(401, 422))
ATTR_NAME_RE = re.compile(r"^[a-z][a-z0-9_ ]{0,39}$")
MAX_ATTR_FILTERS = 10


async def get_knowledge(request: Request) -> KnowledgeService:
    """The app's knowledge service (on the event loop: FastAPI would hand a plain function
    to a worker thread, for a lookup)."""
    return request.app.state.knowledge


KnowledgeDep = Annotated[KnowledgeService, Depends(get_knowledge)]


def get_understanding(knowledge: KnowledgeDep) -> understanding.QueryInterpreter:
    """The current reading of shoppers' words, the index loaded first if it is not yet.
    A route asks for it before its database session begins: on SQLite, loading the index
    would wait for that session's transaction to end."""
    return knowledge.understanding


UnderstandingDep = Annotated[understanding.QueryInterpreter, Depends(get_understanding)]
Price = Annotated[Decimal | None, Query(ge=0, le=1_000_000, max_digits=9, decimal_places=2)]


def _prefixed(request: Request, prefix: str, what: str) -> dict[str, tuple[str, ...]]:
    """``<prefix><name>=v1,v2`` query parameters → {name: (v1, v2)}."""
    out: dict[str, tuple[str, ...]] = {}
    for key, raw in request.query_params.multi_items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):].strip().lower()
        if not ATTR_NAME_RE.match(name):
            raise InvalidInput(f"{key!r} is not a valid {what}", code="invalid_filter")
        values = tuple(v.strip().lower() for v in raw.split(",") if v.strip())
        if not values or any(len(v) > 100 for v in values):
            raise InvalidInput(f"{key!r} needs one or more values of at most 100 characters",
                               code="invalid_filter")
        out[name] = tuple(dict.fromkeys(out.get(name, ()) + values))
    if len(out) > MAX_ATTR_FILTERS:
        raise InvalidInput(f"at most {MAX_ATTR_FILTERS} {what}s", code="invalid_filter")
    return out


async def attribute_filters(request: Request) -> dict[str, tuple[str, ...]]:
    """``attr.<name>=v1,v2``: only products with one of the values pass."""
    return _prefixed(request, "attr.", "attribute filter")


async def boost_preferences(request: Request) -> dict[str, tuple[str, ...]]:
    """``boost.<name>=v1,v2``: products with one of the values rank higher; none is dropped."""
    return _prefixed(request, "boost.", "boost")


@router.get("/products/search", response_model=SearchResponse,
            responses=error_response(404, "``like`` names no product"))
async def search_products(
    knowledge: KnowledgeDep,
    session: SessionDep,
    attributes: Annotated[dict[str, tuple[str, ...]], Depends(attribute_filters)],
    boosts: Annotated[dict[str, tuple[str, ...]], Depends(boost_preferences)],
    q: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=1000, description="skip this many results "
                                 "(the next page)")] = 0,
    min_price: Price = None,
    max_price: Price = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    in_stock: bool = False,
    like: Annotated[int | None, Query(ge=1, le=2**53,
                                      description="more like this product id")] = None,
    include_liked: Annotated[bool, Query(description="keep the liked product itself")] = False,
    interpret: Annotated[bool, Query(description="read q against the live catalog: the "
                                     "product it names first, the category, attribute "
                                     "values and price range it names as filters")] = False,
    record_gap: Annotated[bool, Query(description="keep a search that finds nothing among "
                                      "the catalog's gaps (``/merchant/unanswered``); false "
                                      "for a search made ahead, which the shopper may never "
                                      "see")] = True,
) -> SearchResponse:
    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidInput("min_price is above max_price", code="invalid_filter")
    filters = SearchFilters(min_price=min_price, max_price=max_price,
                            category=category.lower() if category else None,
                            attributes=attributes, in_stock=in_stock)
    try:
        if interpret:
            page = await run_in_threadpool(
                _understood_page, knowledge=knowledge, q=q, filters=filters, boosts=boosts,
                limit=limit, offset=offset, like=like, include_liked=include_liked)
        else:
            page = await run_in_threadpool(
                _plain_page, knowledge=knowledge, q=q, filters=filters, boosts=boosts,
                limit=limit, offset=offset, like=like, include_liked=include_liked)
    except UnknownProduct:
        raise NotFound(f"There is no product with id {like}.",
                       code="product_not_found") from None
    if record_gap and not page.results and offset == 0 and like is None and q.strip():
        await run_in_threadpool(gaps.record, session, kind="search", text=q)
    return page


@router.post("/products/interpret", response_model=Interpretation,
             responses=error_responses(413))
async def interpret_words(knowledge: KnowledgeDep, body: InterpretRequest) -> Interpretation:
    """What a shopper's words ask for in the live catalog, without searching.

    Read on the event loop once the index is loaded (a fraction of a millisecond of
    Python, at most a few for the longest text, which would hold the interpreter's lock in
    a worker thread just the same): only loading it is handed to a worker thread."""
    reader = knowledge.loaded_understanding()
    if reader is None:
        reader = await run_in_threadpool(lambda: knowledge.understanding)
    return _interpretation(reader.interpret(body.text))


def meant(reader: understanding.QueryInterpreter, filters: SearchFilters) -> SearchFilters:
    """``filters`` with each value that is one of the merchant's synonyms replaced by the
    catalog term it means."""
    category = filters.category
    return replace(filters,
                   category=reader.term(understanding.CATEGORY, category) if category else None,
                   attributes={name: tuple(dict.fromkeys(reader.term(name, v) for v in values))
                               for name, values in filters.attributes.items()})


def _plain_page(*, knowledge: KnowledgeService, q: str, filters: SearchFilters,
                boosts: dict[str, tuple[str, ...]], limit: int, offset: int,
                like: int | None, include_liked: bool) -> SearchResponse:
    understanding = knowledge.understanding  # one snapshot: its index is searched
    filters = meant(understanding, filters)
    hits = search(index=understanding.index, embedder=knowledge.embedder, query=q,
                  limit=limit, filters=filters, boosts=boosts, like=like,
                  include_liked=include_liked, offset=offset)
    return SearchResponse(query=q, filters=describe_filters(filters),
                          boosts=describe_boosts(boosts), like=like, offset=offset,
                          results=[_item(h) for h in hits])


def _understood_page(*, knowledge: KnowledgeService, q: str, filters: SearchFilters,
                     boosts: dict[str, tuple[str, ...]], limit: int, offset: int,
                     like: int | None, include_liked: bool) -> SearchResponse:
    understanding = knowledge.understanding  # one snapshot: its index is searched
    filters = meant(understanding, filters)
    reading = understanding.interpret(q)
    found = search_understood(
        index=understanding.index, embedder=knowledge.embedder, reading=reading,
        explicit=filters, limit=limit, offset=offset, boosts=boosts, like=like,
        include_liked=include_liked)
    return SearchResponse(
        query=q, filters=describe_filters(found.filters),
        boosts=describe_boosts({**found.reading.preferences, **boosts}), like=like,
        offset=offset,
        interpretation=_interpretation(found.reading,
                                       relaxed=[u.value for u in found.relaxed],
                                       ranked_by=found.ranked_by),
        results=[_item(h) for h in found.hits])


def _interpretation(reading: understanding.Interpretation, *,
                    relaxed: list[str] | None = None, ranked_by: str = "") -> Interpretation:
    return Interpretation(
        text=reading.text, residual=reading.residual, subject=list(reading.subject),
        category=reading.category,
        attributes={k: list(v) for k, v in reading.attributes.items()},
        preferences={k: list(v) for k, v in reading.preferences.items()},
        min_price=reading.min_price, max_price=reading.max_price, currency=reading.currency,
        product=NamedProduct(id=reading.product.id, name=reading.product.name,
                             words=reading.product.words) if reading.product else None,
        understood=[Understood(name=u.name, value=u.value, values=list(u.values),
                               words=u.words, soft=u.soft) for u in reading.understood],
        summary=reading.summary, relaxed=relaxed or [], ranked_by=ranked_by)


def _item(h: SearchHit) -> SearchResultItem:
    return SearchResultItem(
        id=h.doc.id, sku=h.variant.sku, name=h.doc.name, category=h.doc.category,
        price=h.variant.price, currency=h.doc.currency, image_url=h.doc.image_url,
        in_stock=h.variant.stock > 0, attributes=h.variant.attributes, score=h.score,
        dense_score=h.dense_score, lexical_score=h.lexical_score,
        matched=SearchMatch(terms=h.matched_terms, filters=h.matched_filters, boosts=h.boosts,
                            like=h.like, named=h.named, unmet=h.unmet))
