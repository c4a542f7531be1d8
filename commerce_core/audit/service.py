"""Writing the audit log: the caller's transaction commits the entry with the change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from commerce_core.audit.repository import AuditRepository
from commerce_core.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """The signed-in person (or the merchant API key) an action is written down for."""

    id: int | None
    """The person's account; None for an API key."""
    email: str
    name: str


def record(*, session: Session, actor: Actor, action: str, target_type: str, target: str,
           before: dict[str, Any], after: dict[str, Any]) -> AuditEntry:
    entry = AuditEntry(actor_id=actor.id, actor_email=actor.email, action=action,
                       target_type=target_type, target=target, before=before, after=after)
    AuditRepository(session).add(entry)
    return entry
