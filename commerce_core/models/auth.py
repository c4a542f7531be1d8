from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from commerce_core.models.base import Base, TimestampMixin, UtcDateTime


class MerchantApiKey(TimestampMixin, Base):
    """A merchant API key; only its SHA-256 is stored, the key is shown once."""

    __tablename__ = "merchant_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
