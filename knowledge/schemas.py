from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class SearchMatch(BaseModel):
    terms: list[str]
    """Catalog words the query matched (a mistyped word as the word it was read as)."""
    filters: list[str]
    boosts: list[str] = []
    """The soft preferences (``boost.<name>``) this product meets, as ``name=value``."""
    like: int | None = None
    """The product the query vector was moved toward, if ``like`` was given."""
    named: bool = False
    """The shopper asked for this product by name (``interpret=true``): it comes first."""
    unmet: list[str] = []
    """What the shopper's words asked for that this product lacks: a close match, shown
    because too few products have everything (``interpret=true``)."""


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


class Understood(BaseModel):
    name: str
    """``category``, an attribute name, or ``price``."""
    value: str
    """As the bot can say it: "blue", "mug", "up to 60.00 EUR"."""
    values: list[str]
    """The catalog values accepted ("board" takes "cheese board" too)."""
    words: str
    """The shopper's own words."""
    soft: bool = False
    """A preference (products with it rank higher), not a filter."""


class NamedProduct(BaseModel):
    id: int
    name: str
    words: str


class InterpretRequest(BaseModel):
    text: str = Field(max_length=500)


class Interpretation(BaseModel):
    """A shopper's words read against the live catalog."""

    text: str
    """The words ranked by meaning and by words: the request without its price phrases."""
    residual: str
    """The words nothing was read from."""
    subject: list[str] = []
    """The residual's words some products' names carry ("birds"): the request asks for
    something in particular."""
    category: str | None
    attributes: dict[str, list[str]]
    """Filters read from the words: attribute name → accepted values."""
    preferences: dict[str, list[str]]
    """Soft preferences read from the words (style, occasion)."""
    min_price: Decimal | None
    max_price: Decimal | None
    currency: str
    product: NamedProduct | None
    """The product the words name, if any."""
    understood: list[Understood]
    """Everything read, in reading order (the price range last)."""
    summary: str
    """What was applied, to repeat to the shopper: "blue · ceramic · mug · up to 60.00 EUR"."""
    relaxed: list[str] = []
    """Read filters dropped to fill the page with close matches (search only)."""
    ranked_by: str = ""
    """The words the results were ranked by (search only): the request without its words
    of asking, and without its occasion when it says what the piece is about
    (``knowledge.understood_search.ranked_text``)."""


class SearchResponse(BaseModel):
    query: str
    filters: list[str]
    boosts: list[str] = []
    like: int | None = None
    offset: int = 0
    interpretation: Interpretation | None = None
    """How ``q`` was read, when ``interpret=true``."""
    results: list[SearchResultItem]
