"""All SQL of the audit log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from commerce_core.models import AuditEntry


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, entry: AuditEntry) -> None:
        self.session.add(entry)
        self.session.flush()

    def page(self, *, offset: int, limit: int) -> tuple[Sequence[AuditEntry], int]:
        """Newest first, and how many there are in all."""
        rows = self.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                                    .offset(offset).limit(limit)).all()
        return rows, self.session.scalar(select(func.count(AuditEntry.id))) or 0

    def for_target(self, target_type: str, target: str) -> Sequence[AuditEntry]:
        return self.session.scalars(
            select(AuditEntry).where(AuditEntry.target_type == target_type,
                                     AuditEntry.target == target)
            .order_by(AuditEntry.id)).all()
