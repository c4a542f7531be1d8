from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from commerce_core.params import MultiLine, OneLine

MARKUP_RE = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&#?\w+;|javascript:", re.IGNORECASE)


def _plain_text(value: str) -> str:
    value = value.strip()
    if MARKUP_RE.search(value):
        raise ValueError("must be plain text (no HTML tags, entities or script links)")
    return value


Comment = Annotated[MultiLine, Field(max_length=1000), AfterValidator(_plain_text)]


class ReviewIn(BaseModel):
    sku: OneLine = Field(min_length=1, max_length=64,
                         description="which product of the order (its variant's SKU)")
    rating: int = Field(ge=1, le=5, description="stars, 1 to 5")
    comment: Comment = ""


class HideIn(BaseModel):
    reason: OneLine = Field(min_length=3, max_length=300)


class RatingOut(BaseModel):
    """A product's visible reviews in short."""

    average: Decimal
    """The plain mean of the stars, one decimal."""
    count: int
    score: Decimal
    """A Bayesian average for ranking: the mean pulled towards the shop's mean by a few
    imaginary reviews, so one 5-star review does not outrank fifty of 4.8."""


class ReviewOut(BaseModel):
    id: int
    order_number: str
    sku: str
    product_id: int | None
    product_name: str
    rating: int
    comment: str
    created_at: datetime
    updated_at: datetime
    hidden: bool
    hidden_reason: str | None = None


class PublicReviewOut(BaseModel):
    """A review as anybody may read it: no customer, no order."""

    rating: int
    comment: str
    created_at: datetime


class ProductReviewsOut(BaseModel):
    rating: RatingOut | None
    reviews: list[PublicReviewOut]


class ReviewableLineOut(BaseModel):
    """A product of a delivered order the shopper may review (or has)."""

    order_number: str
    sku: str
    name: str
    product_id: int | None
    review: ReviewOut | None
