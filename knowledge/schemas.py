from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel


class SearchMatch(BaseModel):
    terms: list[str]
    filters: list[str]


class SearchResultItem(BaseModel):
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str
    image_url: str
    in_stock: bool
    attributes: dict[str, str]
    score: float
    dense_score: float | None
    lexical_score: float | None
    matched: SearchMatch


class SearchResponse(BaseModel):
    query: str
    filters: list[str]
    results: list[SearchResultItem]
