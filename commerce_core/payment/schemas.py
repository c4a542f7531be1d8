from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from commerce_core.money import parse_amount


class PaymentOut(BaseModel):
    payment_id: int
    token: str
    url: str
    amount: Decimal
    currency: str
    state: str


class WebhookAck(BaseModel):
    status: Literal["processed", "duplicate", "ignored"]


class EventDataIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    payment_token: str = Field(min_length=1, max_length=64)
    order_id: int = Field(ge=1)
    amount: Decimal
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reason: str | None = Field(default=None, max_length=200)
    provider_ref: str | None = Field(default=None, max_length=100)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: object) -> Decimal:
        if not isinstance(value, str):
            raise ValueError("must be a decimal string such as \"34.50\"")
        return parse_amount(value)


class WebhookEventIn(BaseModel):
    """An event as providers post it; the signature was checked on the raw bytes first."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=r"^evt_[A-Za-z0-9_-]{1,60}$")
    type: str = Field(pattern=r"^[a-z_]{1,20}\.[a-z_]{1,19}$")
    created: float = Field(gt=0, lt=1e11)
    data: EventDataIn

    @field_validator("created")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a unix time")
        return value


class ReturnIn(BaseModel):
    reason: str = Field(default="", max_length=500)

    @field_validator("reason")
    @classmethod
    def _printable(cls, value: str) -> str:
        value = " ".join(value.split())
        if any(not ch.isprintable() for ch in value):
            raise ValueError("must not contain control characters")
        return value
