from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from commerce_core.models.base import Base, UtcDateTime, utcnow


class OutboxMessage(Base):
    """A domain event for another process (the gateway's proactive messages), written in
    the same transaction as the change it tells of, kept until it has been delivered."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_pending", "delivered_at", "id"),
        Index("ix_outbox_message_stream", "stream", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    stream: Mapped[str] = mapped_column(String(64))
    """Messages of one stream are delivered in the order they were written
    (``order:<id>``: an order's "paid" before its "shipped")."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Claims so far; a message that reached the relay's limit is not tried again."""
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Nobody takes the message before then: a relay's lease while it delivers, or the
    backoff after a failed attempt."""
    delivered_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Conversations that already have it, so a retry does not tell them twice."""
    last_error: Mapped[str | None] = mapped_column(String(500))
