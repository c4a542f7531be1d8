"""Domain events, delivered to subscribers only after the transaction that caused them
commits (a rolled-back change notifies nobody)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
Handler = Callable[["DomainEvent"], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)
_PENDING = "atelier_pending_events"


@dataclass(frozen=True)
class DomainEvent:
    kind: str
    """e.g. ``catalog.changed``, ``order.paid``, ``order.shipped``."""
    data: dict[str, Any] = field(default_factory=dict)


def subscribe(kind: str, handler: Handler) -> Callable[[], None]:
    """Call ``handler`` for every committed event of ``kind``; returns an unsubscribe."""
    _subscribers[kind].append(handler)
    return lambda: _subscribers[kind].remove(handler)


def emit(session: Session, kind: str, **data: Any) -> None:
    """Queue an event on ``session``; it is delivered if and when the session commits."""
    session.info.setdefault(_PENDING, []).append(DomainEvent(kind, data))


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    pending: list[DomainEvent] = session.info.pop(_PENDING, [])
    for domain_event in pending:
        for handler in list(_subscribers.get(domain_event.kind, ())):
            try:
                handler(domain_event)
            except Exception:  # a subscriber's failure must not undo a committed sale
                log.exception("event handler failed for %s", domain_event.kind)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
