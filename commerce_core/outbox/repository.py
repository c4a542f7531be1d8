"""All SQL of the outbox: a message written with the change it tells of, and the claims,
leases and retries of the relays that deliver it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import AliasedClass

from commerce_core.models import OutboxMessage

MAX_ERROR_CHARS = 500
Row = type[OutboxMessage] | AliasedClass[OutboxMessage]


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, kind: str, stream: str, data: dict[str, Any]) -> OutboxMessage:
        """Write a message in the caller's transaction: it exists if and only if the
        change it tells of commits."""
        message = OutboxMessage(kind=kind, stream=stream, data=data, attempts=0,
                                delivered_to=[])
        self.session.add(message)
        self.session.flush()
        return message

    def claim(self, *, kinds: Collection[str], now: datetime, until: datetime,
              max_attempts: int, limit: int) -> Sequence[OutboxMessage]:
        """Take up to ``limit`` due messages, leased until ``until``; returns those won.

        Only the oldest live message of a stream is due, so a stream is delivered in order
        and never by two relays at once. Each message is taken by a conditional UPDATE
        whose row count says whether this caller won it: of relays claiming together,
        exactly one gets it until its lease runs out. A claim counts as an attempt, so a
        message whose delivery kills the process is given up too.
        """
        earlier = aliased(OutboxMessage)
        due = (select(OutboxMessage.id)
               .where(_live(OutboxMessage, max_attempts), OutboxMessage.kind.in_(kinds),
                      _free(OutboxMessage, now),
                      ~exists().where(earlier.stream == OutboxMessage.stream,
                                      earlier.id < OutboxMessage.id, earlier.kind.in_(kinds),
                                      _live(earlier, max_attempts)))
               .order_by(OutboxMessage.id).limit(limit))
        won: list[int] = []
        for message_id in self.session.scalars(due).all():
            result = self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, _live(OutboxMessage, max_attempts),
                       _free(OutboxMessage, now))
                .values(claimed_until=until, attempts=OutboxMessage.attempts + 1)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                won.append(message_id)
        if not won:
            return []
        return self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(won)).order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)).all()

    def delivered(self, message_id: int, *, lease: datetime, now: datetime,
                  delivered_to: list[str]) -> bool:
        """Mark a message delivered; False if the caller's lease was lost meanwhile."""
        return self._settle(message_id, lease, delivered_at=now, claimed_until=None,
                            delivered_to=delivered_to)

    def retry_later(self, message_id: int, *, lease: datetime, not_before: datetime,
                    delivered_to: list[str], error: str) -> bool:
        """Record a failed attempt; nobody takes the message again before ``not_before``.
        False if the caller's lease was lost meanwhile."""
        return self._settle(message_id, lease, claimed_until=not_before,
                            delivered_to=delivered_to, last_error=error[:MAX_ERROR_CHARS])

    def delete_for_customer(self, customer_id: int) -> int:
        """Delete the messages about one customer's orders (their personal data is being
        deleted); returns how many."""
        result = self.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.data["customer_id"].as_integer() == customer_id)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def prune(self, *, delivered_before: datetime) -> int:
        """Delete the messages delivered before then; returns how many."""
        result = self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.delivered_at < delivered_before)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def _settle(self, message_id: int, lease: datetime, **values: Any) -> bool:
        # The lease the caller was given fences it: after a takeover it no longer matches.
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.delivered_at.is_(None),
                   OutboxMessage.claimed_until == lease)
            .values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1


def _live(message: Row, max_attempts: int) -> ColumnElement[bool]:
    return and_(message.delivered_at.is_(None), message.attempts < max_attempts)


def _free(message: Row, now: datetime) -> ColumnElement[bool]:
    return or_(message.claimed_until.is_(None), message.claimed_until <= now)
