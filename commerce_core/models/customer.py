from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commerce_core.models.base import Base, TimestampMixin


class Customer(TimestampMixin, Base):
    """A shopper, known by the channel identities that talk to the bot."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    name: Mapped[str | None] = mapped_column(String(200))

    identities: Mapped[list[ChannelIdentity]] = relationship(back_populates="customer",
                                                             lazy="raise")


class ChannelIdentity(TimestampMixin, Base):
    """One way a customer reaches the shop: a web session, a Telegram user id, …"""

    __tablename__ = "channel_identity"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"),
                                             index=True)

    customer: Mapped[Customer] = relationship(back_populates="identities", lazy="raise")
