from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, field_validator

POSTCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,10}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not EMAIL_RE.match(value) or ".." in value:
        raise ValueError("is not an email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]


class AddressIn(BaseModel):
    name: str = Field(min_length=2, max_length=120)
    line1: str = Field(min_length=3, max_length=200)
    line2: str = Field(default="", max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=2, max_length=12)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")

    @field_validator("name", "line1", "line2", "city", "postal_code")
    @classmethod
    def _printable(cls, value: str) -> str:
        value = " ".join(value.split())
        if any(not ch.isprintable() for ch in value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("postal_code")
    @classmethod
    def _postcode(cls, value: str) -> str:
        if not POSTCODE_RE.match(value):
            raise ValueError("is not a postal code")
        return value.upper()

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not value.isalpha():
            raise ValueError("must be a two-letter country code such as FR")
        return value.upper()


class CheckoutIn(BaseModel):
    email: Email
    address: AddressIn


class OrderLineOut(BaseModel):
    sku: str
    name: str
    options: dict[str, Any]
    unit_price: Decimal
    quantity: int
    line_total: Decimal


class OrderEventOut(BaseModel):
    type: str
    from_status: str | None
    to_status: str | None
    at: datetime


class OrderOut(BaseModel):
    id: int
    number: str
    status: str
    payment_status: str
    email: str
    shipping_address: dict[str, str]
    currency: str
    lines: list[OrderLineOut]
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    ready_by: str
    reserved_until: datetime | None
    created_at: datetime
    events: list[OrderEventOut]


class OrderLookupIn(BaseModel):
    number: str = Field(min_length=3, max_length=16)
    email: Email
