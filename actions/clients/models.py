"""What the commerce and knowledge APIs answer, as the actions read it (pydantic models
of the JSON bodies; fields the actions do not use are left out)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field


class SearchQuery(BaseModel):
    text: str = ""
    limit: int = 6
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    boosts: dict[str, str] = Field(default_factory=dict)
    """Soft preferences: matching products rank higher, none is dropped."""
    like: int | None = None
    """Move the search toward this product ("more like this one")."""
    in_stock: bool = False
    interpret: bool = False
    """Let the shop read ``text`` against its live catalog (the product it names, the
    category, attribute values and price it speaks of); explicit filters win."""
    offset: int = 0
    """Skip this many results: the next page of the same search."""

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = [("q", self.text), ("limit", str(self.limit))]
        if self.interpret:
            out.append(("interpret", "true"))
        if self.offset:
            out.append(("offset", str(self.offset)))
        if self.category:
            out.append(("category", self.category))
        if self.min_price is not None:
            out.append(("min_price", str(self.min_price)))
        if self.max_price is not None:
            out.append(("max_price", str(self.max_price)))
        if self.in_stock:
            out.append(("in_stock", "true"))
        out.extend((f"attr.{k}", v) for k, v in self.attributes.items())
        out.extend((f"boost.{k}", v) for k, v in self.boosts.items())
        if self.like is not None:
            out.append(("like", str(self.like)))
        return out


class SearchMatch(BaseModel):
    named: bool = False
    """The shopper asked for this product by name."""
    unmet: list[str] = Field(default_factory=list)
    """What the shopper asked for that this product lacks (a close match)."""


class SearchHit(BaseModel):
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
    matched: SearchMatch = Field(default_factory=SearchMatch)


class Understood(BaseModel):
    name: str
    """``category``, an attribute name, or ``price``."""
    value: str
    """As the bot can say it: "blue", "mug", "up to 60.00 EUR"."""
    values: list[str] = Field(default_factory=list)
    words: str = ""
    soft: bool = False
    """A preference that ranks products, not a filter."""


class NamedProduct(BaseModel):
    id: int
    name: str


class Interpretation(BaseModel):
    """The shopper's words read against the live catalog by the shop."""

    text: str = ""
    subject: list[str] = Field(default_factory=list)
    """Words of the request some products' names carry ("birds"): it asks for something
    in particular."""
    category: str | None = None
    attributes: dict[str, list[str]] = Field(default_factory=dict)
    preferences: dict[str, list[str]] = Field(default_factory=dict)
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    currency: str = "EUR"
    product: NamedProduct | None = None
    understood: list[Understood] = Field(default_factory=list)
    summary: str = ""
    ranked_by: str = ""
    """The words the results were ranked by (a search's reading only)."""

    def said(self, name: str) -> str | None:
        """The first value read for ``name`` (an attribute, ``category``), as said."""
        return next((u.value for u in self.understood if u.name == name), None)


class SearchPage(BaseModel):
    results: list[SearchHit]
    interpretation: Interpretation | None = None


class Recommended(BaseModel):
    """A product the shop recommends, in stock and not in the cart, with why."""

    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str
    image_url: str
    reason: str
    in_stock: bool = True
    """Always: the shop recommends only products in stock."""


class Recommendations(BaseModel):
    results: list[Recommended]
    bought: list[int] = Field(default_factory=list)
    """The shopper's past purchases that spoke for the answer (empty: no history)."""


class Variant(BaseModel):
    id: int
    sku: str
    attributes: dict[str, str]
    price: Decimal
    currency: str
    stock: int


class Rating(BaseModel):
    average: Decimal
    count: int


class Product(BaseModel):
    id: int
    name: str
    description: str
    category: str
    price: Decimal
    currency: str
    image_url: str
    in_stock: bool
    attributes: dict[str, str]
    variants: list[Variant]
    customization: list[dict[str, Any]]
    rating: Rating | None = None


class QuoteLine(BaseModel):
    option: str
    label: str
    value: str | bool
    price_delta: Decimal
    extra_days: int


class Quote(BaseModel):
    product_id: int
    variant_id: int
    sku: str
    base_price: Decimal
    unit_price: Decimal
    currency: str
    making_days: int
    ready_by: str
    lines: list[QuoteLine]


class OptionToAsk(BaseModel):
    """One option of a product as the shop asks for it (the API also gives its limits and
    price, which its question already tells)."""

    name: str
    label: str
    kind: str
    """``choice``, ``text`` or ``boolean``."""
    required: bool
    prompt: str
    values: list[str] = Field(default_factory=list)


class Problem(BaseModel):
    option: str
    """The option it is with; ``*`` for the choices as a whole."""
    code: str
    message: str


class NextOption(BaseModel):
    """The rules the choices so far break, and the next option to ask (None: done)."""

    problems: list[Problem]
    option: OptionToAsk | None


class CartLine(BaseModel):
    id: int
    product_id: int
    variant_id: int
    sku: str
    name: str
    quantity: int
    options: dict[str, Any]
    unit_price: Decimal
    line_total: Decimal
    ready_by: str
    in_stock: bool


class Cart(BaseModel):
    id: int | None
    currency: str
    lines: list[CartLine]
    item_count: int
    subtotal: Decimal
    shipping: Decimal
    shipping_country: str
    tax: Decimal
    total: Decimal


class Address(BaseModel):
    name: str
    line1: str
    line2: str = ""
    city: str
    postal_code: str
    country: str


class Order(BaseModel):
    id: int
    number: str
    status: str
    payment_status: str
    email: str
    shipping_address: dict[str, str]
    currency: str
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    ready_by: str
    reserved_until: datetime | None


class Payment(BaseModel):
    payment_id: int
    token: str
    url: str
    amount: Decimal
    currency: str
    state: str
