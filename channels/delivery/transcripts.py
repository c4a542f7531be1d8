"""Transcripts in SQL: every recorded message of every conversation, searchable by agents.

:class:`TranscriptHistory` wraps the widget's replay history (memory or Redis), so each
message that the gateway records is also written to ``conversation_message``. A
customer's personal data is deleted with :func:`delete_customer_data`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.delivery.history import History
from channels.handoff.repository import ConversationRepository
from channels.messages import ChatMessage
from commerce_core.db import begin_conversation_write
from commerce_core.models import (
    ChannelIdentity,
    Conversation,
    ConversationMessage,
    Customer,
    Order,
)
from commerce_core.models.base import utcnow
from commerce_core.outbox.repository import OutboxRepository

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 200
SEARCH_LIMIT = 50
REDACTED_EMAIL = ""
Rider = Callable[[Session], None]
KNOWN_CONVERSATIONS = 10_000
"""How many conversation ids a :class:`TranscriptHistory` remembers as existing."""


def _ts(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return utcnow()
    return parsed if parsed.tzinfo is not None else utcnow()


def payload_of(message: ChatMessage) -> dict[str, Any]:
    """What the shopper saw besides the text: buttons, cards, link (only the parts present)."""
    data = message.model_dump(mode="json", include={"buttons", "cards", "link"})
    return {key: _storable(value) for key, value in data.items() if value}


def _storable(value: Any) -> Any:
    """``value`` with each NUL replaced by U+FFFD: PostgreSQL refuses NUL in text, and a
    transcript row must not be lost for one character."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def add_message(*, session: Session, conversation_id: str, message: ChatMessage,
                known: bool = False) -> ConversationMessage:
    """Add a transcript row, creating the conversation's row unless it is ``known`` to
    exist (a row that is gone after all fails the insert with an :class:`IntegrityError`)."""
    if not known:
        ConversationRepository(session).ensure(conversation_id=conversation_id)
    row = ConversationMessage(conversation_id=conversation_id, seq=message.seq,
                              role=message.role, text=_storable(message.text),
                              payload=payload_of(message), ts=_ts(message.ts))
    session.add(row)
    session.flush()
    return row


def transcript(*, session: Session, conversation_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(ConversationMessage)
                           .where(ConversationMessage.conversation_id == conversation_id)
                           .order_by(ConversationMessage.id))
    return [{"seq": r.seq, "role": r.role, "text": r.text, "ts": r.ts.isoformat(), **r.payload}
            for r in rows]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(*, session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """Messages containing ``query`` (any case), newest first, with their conversation."""
    query = query.strip()
    if not query or len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"The search must be 1-{MAX_QUERY_CHARS} characters.")
    pattern = _like(query)
    rows = session.execute(
        select(ConversationMessage, Conversation.channel, Conversation.state)
        .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
        .where(or_(func.lower(ConversationMessage.text).like(pattern, escape="\\"),
                   func.lower(Conversation.contact_email).like(pattern, escape="\\")))
        .order_by(ConversationMessage.id.desc()).limit(limit))
    return [{"conversation_id": m.conversation_id, "channel": channel,
             "state": state.value if hasattr(state, "value") else state, "seq": m.seq,
             "role": m.role, "text": m.text, "ts": m.ts.isoformat()}
            for m, channel, state in rows]


@dataclass(frozen=True)
class Deletion:
    conversations: list[str]
    messages: int
    customer_found: bool
    orders_redacted: int

    def as_json(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "messages": self.messages,
                "customer_found": self.customer_found, "orders_redacted": self.orders_redacted}


def delete_customer_data(*, session: Session, channel: str, external_id: str) -> Deletion:
    """Delete what identifies a customer: transcripts, contact details, order addresses.

    The conversations of every identity of the customer go, with their messages, and so
    does the order news kept for them in the outbox (it names their channel identities;
    what was not delivered yet would have been posted in conversations that are gone). The
    customer's email and name are cleared; their orders keep lines and amounts (the shop
    must keep them for its accounts) but lose the email and the shipping address.
    """
    identities = {(channel, external_id)}
    customer = session.scalar(select(Customer).join(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id))
    orders = 0
    if customer is not None:
        identities |= {(i.channel, i.external_id) for i in session.scalars(
            select(ChannelIdentity).where(ChannelIdentity.customer_id == customer.id))}
        customer.email = None
        customer.name = None
        for order in session.scalars(select(Order).where(Order.customer_id == customer.id)):
            order.email = REDACTED_EMAIL
            order.shipping_address = {}
            orders += 1
        OutboxRepository(session).delete_for_customer(customer.id)
    ids = list(session.scalars(select(Conversation.id).where(
        tuple_(Conversation.channel, Conversation.external_id).in_(sorted(identities)))))
    messages = 0
    if ids:
        messages = session.execute(delete(ConversationMessage).where(
            ConversationMessage.conversation_id.in_(ids))).rowcount
        session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
    session.flush()
    return Deletion(conversations=ids, messages=messages, customer_found=customer is not None,
                    orders_redacted=orders)


class TranscriptHistory:
    """A :class:`History` that also writes every message to the SQL transcript.

    The replay history stays the source of sequence numbers; the SQL row follows it. If
    the database is down the shopper's chat goes on and the failure is logged. While the
    replay history is down (Redis), :meth:`keep` writes the SQL row alone.

    Other rows of a conversation can ride along (:meth:`ride`): they are written in the
    transaction of the conversation's next transcript row, instead of one of their own.
    They must be conversation records too: on SQLite that transaction commits without
    waiting for the disk (:func:`~commerce_core.db.begin_conversation_write`).
    """

    def __init__(self, inner: History, session_factory: sessionmaker[Session]) -> None:
        self.inner = inner
        self.session_factory = session_factory
        self._riders: dict[str, list[Rider]] = defaultdict(list)
        self._held: dict[str, list[ChatMessage]] = {}
        """Messages numbered in a :meth:`together` block, written when it ends."""
        self._known: set[str] = set()
        """Conversations whose row this process wrote a transcript row for: not looked up
        again for each message."""

    def ride(self, conversation_id: str, rider: Rider) -> None:
        """Have ``rider(session)`` add its rows in the transaction that writes the
        conversation's next transcript row (after that row's conversation exists)."""
        self._riders[conversation_id].append(rider)

    def unridden(self, conversation_id: str) -> list[Rider]:
        """The riders no transcript row took (and forgets them): the caller writes them."""
        return self._riders.pop(conversation_id, [])

    def _store(self, conversation_id: str, message: ChatMessage) -> int:
        if message.transcript_id is not None:  # written by keep(): number it now
            with self.session_factory() as session:
                begin_conversation_write(session)
                session.execute(update(ConversationMessage)
                                .where(ConversationMessage.id == message.transcript_id)
                                .values(seq=message.seq))
                session.commit()
            return message.transcript_id
        return self._store_new(conversation_id, [message])[0]

    def _store_new(self, conversation_id: str, messages: list[ChatMessage]) -> list[int]:
        """Write new rows in one transaction, with the conversation's riders."""
        known = conversation_id in self._known
        try:
            row_ids = self._insert(conversation_id, messages, known=known)
        except IntegrityError:
            if not known:
                raise
            # its row is gone (the customer's data was deleted, maybe on another
            # replica): the conversation starts again, as on its first message
            self._known.discard(conversation_id)
            row_ids = self._insert(conversation_id, messages, known=False)
        if len(self._known) >= KNOWN_CONVERSATIONS:
            self._known.clear()
        self._known.add(conversation_id)
        return row_ids

    def _insert(self, conversation_id: str, messages: list[ChatMessage], *,
                known: bool) -> list[int]:
        with self.session_factory() as session:
            begin_conversation_write(session)
            rows = [add_message(session=session, conversation_id=conversation_id,
                                message=message, known=known or n > 0)
                    for n, message in enumerate(messages)]
            riders = self._riders.pop(conversation_id, [])
            try:
                for rider in riders:
                    rider(session)
                session.commit()
            except BaseException:
                if riders:  # not written: they wait for the next row, or for unridden()
                    self._riders[conversation_id][:0] = riders
                raise
            return [row.id for row in rows]

    def _store_held(self, conversation_id: str, messages: list[ChatMessage]) -> None:
        """Write the held messages in one transaction; if it fails, each in one of its own,
        so that a row the database refuses loses no other."""
        try:
            self._store_new(conversation_id, messages)
            return
        except SQLAlchemyError:
            if len(messages) == 1:
                raise
            log.warning("transcript rows not written together; writing them one by one",
                        exc_info=True, extra={"conversation_id": conversation_id})
        for message in messages:
            try:
                self._store_new(conversation_id, [message])
            except SQLAlchemyError:
                log.exception("transcript row not written",
                              extra={"conversation_id": conversation_id})

    @asynccontextmanager
    async def together(self, conversation_id: str) -> AsyncIterator[None]:
        """Messages of the conversation appended in the block are numbered and handed on
        at once, but written to SQL in one transaction (with the riders) when it ends,
        instead of one each: on SQLite every transaction takes the write lock."""
        if conversation_id in self._held:
            yield
            return
        self._held[conversation_id] = []
        try:
            yield
        finally:
            await self._write_held(conversation_id)

    async def _write_held(self, conversation_id: str, *, hold_on: bool = False) -> None:
        held = self._held.pop(conversation_id, None)
        if hold_on:  # the block goes on: what is appended meanwhile waits for it
            self._held[conversation_id] = []
        if held:
            try:
                await run_in_threadpool(self._store_held, conversation_id, held)
            except SQLAlchemyError:
                log.exception("transcript row not written",
                              extra={"conversation_id": conversation_id})

    async def append(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        stored = await self.inner.append(conversation_id, message)
        held = self._held.get(conversation_id)
        if held is not None and stored.transcript_id is None:
            held.append(stored)
            return stored
        try:
            await run_in_threadpool(self._store, conversation_id, stored)
        except SQLAlchemyError:
            log.exception("transcript row not written",
                          extra={"conversation_id": conversation_id})
        return stored

    async def keep(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        """Write ``message`` to the transcript only, unnumbered: the replay history cannot
        take it now. Returns it with its row, so that :meth:`append` numbers that row
        later instead of writing the message twice."""
        if conversation_id in self._held:  # the rows held so far come first
            await self._write_held(conversation_id, hold_on=True)
        try:
            row_id = await run_in_threadpool(self._store, conversation_id, message)
        except SQLAlchemyError:
            log.exception("transcript row not written",
                          extra={"conversation_id": conversation_id})
            return message
        return message.model_copy(update={"transcript_id": row_id})

    async def since(self, conversation_id: str, after: int) -> list[ChatMessage]:
        return await self.inner.since(conversation_id, after)

    async def forget(self, conversation_id: str) -> None:
        self._riders.pop(conversation_id, None)
        if conversation_id in self._held:
            self._held[conversation_id] = []
        self._known.discard(conversation_id)
        forget = getattr(self.inner, "forget", None)
        if forget is not None:
            await forget(conversation_id)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:  # e.g. RedisHistory.ping
        return getattr(self.inner, name)
