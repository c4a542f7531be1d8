from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from commerce_core.review.schemas import RatingOut


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
    rating: RatingOut | None = None
    """The stars of its visible reviews; none until it has one."""


class ProductDetail(ProductSummary):
    description: str
    variants: list[VariantOut]
    customization: list[dict[str, Any]]


class ProductPage(BaseModel):
    items: list[ProductSummary]
    total: int
    limit: int
    offset: int


MAX_REPORTED_ERRORS = 1000


class ImportRowError(BaseModel):
    row: int
    column: str
    reason: str


class ImportReport(BaseModel):
    created: int
    """Variants (rows) created."""
    updated: int
    """Variants changed, or whose product changed."""
    unchanged: int = 0
    """Variants that were already exactly so (nothing written)."""
    rows: int
    errors: list[ImportRowError]
    """Why rows were rejected (skipped whole): the first 1,000 problems."""
    errors_total: int = 0
    """All problems found, also those past the first 1,000."""


class ImportJobOut(BaseModel):
    """A catalog import running in the background (``GET …/catalog/import-jobs/{id}``)."""

    id: int
    status: Literal["queued", "running", "succeeded", "failed"]
    rows_total: int | None
    """Known once the file has been read through."""
    rows_done: int
    report: ImportReport | None
    """Once the job has ended (also when it failed: what was done until then)."""
    failure: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
