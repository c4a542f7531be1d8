from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce_core.models.base import Base, TimestampMixin


class Product(TimestampMixin, Base):
    """A product as the shopper sees it; what is sold is one of its variants."""

    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(60), index=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    image_url: Mapped[str] = mapped_column(String(500), default="")
    currency: Mapped[str] = mapped_column(String(3))

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", lazy="raise", cascade="all, delete-orphan", order_by="Variant.id"
    )


class Variant(TimestampMixin, Base):
    __tablename__ = "variant"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(Integer, default=0)
    weight_grams: Mapped[int] = mapped_column(Integer, default=400, server_default="400")

    product: Mapped[Product] = relationship(back_populates="variants", lazy="raise")


class CustomizationRuleSet(TimestampMixin, Base):
    """The merchant's customisation options for a category or for one product.

    ``scope_kind`` is ``category`` or ``sku``; ``spec`` holds the options as the
    merchant wrote them (validated on load).
    """

    __tablename__ = "customization_rule_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str] = mapped_column(String(120))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        CheckConstraint("scope_kind in ('category', 'sku')", name="scope_kind_known"),
        UniqueConstraint("scope_kind", "scope_value", name="uq_rule_set_scope"),
    )
