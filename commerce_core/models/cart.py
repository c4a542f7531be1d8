from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce_core.models.base import Base, TimestampMixin, text_enum
from commerce_core.models.catalog import Variant


class CartStatus(StrEnum):
    OPEN = "open"
    CHECKED_OUT = "checked_out"


class Cart(TimestampMixin, Base):
    __tablename__ = "cart"
    __table_args__ = (
        # one open cart per customer
        Index("uq_cart_open_per_customer", "customer_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    status: Mapped[CartStatus] = mapped_column(text_enum(CartStatus, 20),
                                                default=CartStatus.OPEN)
    currency: Mapped[str] = mapped_column(String(3))

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", lazy="raise", cascade="all, delete-orphan", order_by="CartLine.id")


class CartLine(TimestampMixin, Base):
    __tablename__ = "cart_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    cart: Mapped[Cart] = relationship(back_populates="lines", lazy="raise")
    variant: Mapped[Variant] = relationship(lazy="raise")
