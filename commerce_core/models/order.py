from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce_core.models.base import Base, TimestampMixin, UtcDateTime, text_enum, utcnow


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    IN_PRODUCTION = "in_production"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"


class Order(TimestampMixin, Base):
    __tablename__ = "order"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    shipping_address: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[OrderStatus] = mapped_column(text_enum(OrderStatus, 24), index=True)
    payment_status: Mapped[PaymentStatus] = mapped_column(text_enum(PaymentStatus, 24))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    shipping: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    tax: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    ready_by: Mapped[str] = mapped_column(String(10))
    reserved_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="raise", cascade="all, delete-orphan",
        order_by="OrderLine.id")
    events: Mapped[list[OrderEvent]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="OrderEvent.id")


class OrderLine(Base):
    """A cart line frozen at checkout: price and options can no longer change."""

    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    quantity: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")


class OrderEvent(Base):
    """One row per change of an order, written in the same transaction as the change."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CheckoutKey(Base):
    """The ``Idempotency-Key`` of a checkout and the order it placed: a checkout sent again
    with the same key (a replayed chat turn) gets that order back instead of a second one.
    Keys belong to one customer, so another shopper's key never names their order."""

    __tablename__ = "checkout_key"
    __table_args__ = (UniqueConstraint("customer_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"),
                                          index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
