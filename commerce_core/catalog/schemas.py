from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    attributes: dict[str, str]
    price: Decimal
    currency: str
    stock: int


class ProductSummary(BaseModel):
    id: int
    handle: str
    name: str
    category: str
    price: Decimal
    """The lowest variant price ("from")."""
    currency: str
    image_url: str
    in_stock: bool
    attributes: dict[str, str]


class ProductDetail(ProductSummary):
    description: str
    variants: list[VariantOut]
    customization: list[dict[str, Any]]


class ProductPage(BaseModel):
    items: list[ProductSummary]
    total: int
    limit: int
    offset: int


class ImportRowError(BaseModel):
    row: int
    column: str
    reason: str


class ImportReport(BaseModel):
    created: int
    updated: int
    rows: int
    errors: list[ImportRowError]
