from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from commerce_core.models.base import Base, UtcDateTime, utcnow


class UnansweredQuestion(Base):
    """A shopper's words the shop had no answer for: a question the FAQ declined, or a
    search that found nothing. The merchant sees them grouped by meaning and answers
    them with an FAQ entry, which marks them resolved."""

    __tablename__ = "unanswered_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), index=True)
    """``faq`` or ``search``."""
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SearchSynonym(Base):
    """A shopper's word or phrase the merchant mapped to a term of the catalog ("cheese
    platter" → type *cheese board*): the search reads it as that term at once."""

    __tablename__ = "search_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(String(60), unique=True)
    """Lower-case, single-spaced."""
    target_name: Mapped[str] = mapped_column(String(40))
    """``category`` or an attribute name (``type``, ``colour``, …)."""
    target_value: Mapped[str] = mapped_column(String(100))
    """The catalog's value, as the catalog spells it."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
