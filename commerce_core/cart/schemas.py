from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

MAX_QUANTITY = 99


class LineIn(BaseModel):
    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sku: str | None = Field(default=None, max_length=64)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    options: dict[str, Any] = Field(default_factory=dict, max_length=20)

    @model_validator(mode="after")
    def _one_reference(self) -> Self:
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give exactly one of variant_id or sku")
        return self


class LineUpdate(BaseModel):
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class CartLineOut(BaseModel):
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


class CartOut(BaseModel):
    id: int | None
    currency: str
    lines: list[CartLineOut]
    item_count: int
    subtotal: Decimal
    shipping: Decimal
    shipping_country: str
    tax: Decimal
    total: Decimal
