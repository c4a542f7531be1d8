from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel


class SearchMatch(BaseModel):
    terms: list[str]
    """Catalog words the query matched (a mistyped word as the word it was read as)."""
    filters: list[str]
    boosts: list[str] = []
    """The soft preferences (``boost.<name>``) this product meets, as ``name=value``."""
    like: int | None = None
    """The product the query vector was moved toward, if ``like`` was given."""


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
    boosts: list[str] = []
    like: int | None = None
    results: list[SearchResultItem]
