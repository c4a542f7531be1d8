"""Where every message of a conversation goes: numbered and stored (the replay history),
handed to the conversation's subscribers (widget sockets, agent consoles), and — for a
message no shopper turn returns — sent out on the conversation's own channel (Telegram).

The chat service records a turn's messages here, and the help desk its notices and the
agents' replies; neither needs the other for it.

With Redis configured, recording degrades while Redis is down instead of failing: the
message goes to the SQL transcript and the conversation's backlog
(:mod:`channels.backlog`), and is recorded once Redis is back, in order and once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from channels.backlog import Backlog, Kept
from channels.delivery.bus import Bus, LocalBus
from channels.delivery.history import History
from channels.messages import ChatMessage
from channels.pending import MemoryPending, Pending, PendingTurn

log = logging.getLogger(__name__)
Outbound = Callable[[str, list[ChatMessage]], Awaitable[object]]


class OutboundFailed(RuntimeError):
    """A channel could not deliver pushed messages (for instance Telegram is unreachable)."""


class Outlet:
    """Records and pushes the messages of conversations.

    Args:
        history: the replay history (and, with
            :class:`~channels.delivery.transcripts.TranscriptHistory`, the SQL transcript
            that keeps messages while Redis is down).
        bus: numbers messages and fans them out (to every gateway replica, when Redis).
        pending: the shopper turns waiting for the bot; a turn kept while Redis was down
            is handed to it when the backlog is replayed.
    """

    def __init__(self, *, history: History, bus: Bus | None = None,
                 pending: Pending | None = None) -> None:
        self.history = history
        self.bus = bus or LocalBus(history)
        self.pending = pending or MemoryPending()
        self.backlog = Backlog()
        self._outbound: list[tuple[str, Outbound]] = []

    def subscribe(self, conversation_id: str) -> asyncio.Queue[Any]:
        """A queue receiving every message recorded in the conversation from now on
        (on any gateway replica, when the bus is Redis)."""
        return self.bus.subscribe(conversation_id)

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[Any]) -> None:
        self.bus.unsubscribe(conversation_id, queue)

    async def record(self, conversation_id: str, message: ChatMessage, *,
                     keep: bool = True) -> ChatMessage:
        """Number and store a message, and hand it to the conversation's subscribers.

        While Redis is down the message is kept instead (SQL transcript, backlog) and
        returned unnumbered; it is recorded once Redis is back. A shopper's own message is
        shown at once on this process's sockets, so the widget knows it arrived.

        Args:
            keep: False for a caller that keeps the message itself and retries (the
                outbox relay): then a :class:`RedisError` is raised instead.
        """
        if await self.replay_backlog(conversation_id):
            try:
                return await self.bus.record(conversation_id, message)
            except RedisError as exc:
                self.redis_failed(exc, conversation_id)
                if not keep:
                    raise
        elif not keep:
            raise RedisConnectionError("earlier messages of the conversation wait for Redis")
        kept = await self._transcribe(conversation_id, message)
        self.backlog.add(conversation_id, Kept(message=kept))
        if message.role == "shopper":
            self.bus.deliver(conversation_id, kept)
        return kept

    async def _transcribe(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        transcribe = getattr(self.history, "keep", None)
        return await transcribe(conversation_id, message) if transcribe is not None else message

    def together(self, conversation_id: str) -> AbstractAsyncContextManager[object]:
        """A block whose messages of the conversation the SQL transcript writes in one
        transaction when it ends (see
        :meth:`~channels.delivery.transcripts.TranscriptHistory.together`); with no SQL
        transcript, nothing changes."""
        together = getattr(self.history, "together", None)
        return together(conversation_id) if together is not None else nullcontext()

    def redis_failed(self, exc: RedisError, conversation_id: str | None = None) -> None:
        if not self.backlog.redis_paused():
            log.warning("Redis is not answering (%s); messages are kept until it is back",
                        exc, extra={"conversation_id": conversation_id})
        self.backlog.redis_failed()

    async def replay_backlog(self, conversation_id: str) -> bool:
        """Write what was kept of the conversation to Redis, oldest first; False (and
        nothing more written) while Redis is still down."""
        if not self.backlog.holds(conversation_id):
            return True
        async with self.backlog.lock(conversation_id):
            replayed = 0
            try:
                while (kept := self.backlog.first(conversation_id)) is not None:
                    if kept.message is not None:
                        await self.bus.record(conversation_id, kept.message)
                    elif kept.turn is not None:
                        await self.pending.add(conversation_id, kept.turn)
                    elif kept.answered_first:
                        await self.pending.drop_first(conversation_id)
                    self.backlog.drop_first(conversation_id)
                    replayed += 1
            except RedisError as exc:
                self.redis_failed(exc, conversation_id)
                return False
        if replayed:
            log.info("Redis is back: %d kept steps replayed", replayed,
                     extra={"conversation_id": conversation_id})
        return True

    async def keep_turn(self, conversation_id: str, turn: PendingTurn,
                        notice: ChatMessage) -> list[ChatMessage]:
        """Keep a turn the bot cannot be asked now (Redis is down) and show ``notice``.
        The notice is shown at once and written to the transcript, but not replayed: the
        shopper has seen it."""
        self.backlog.add(conversation_id, Kept(turn=turn))
        await self._transcribe(conversation_id, notice)
        self.bus.deliver(conversation_id, notice)
        return [notice]

    def add_outbound(self, prefix: str, send: Outbound) -> None:
        """``send(conversation_id, messages)`` delivers pushed messages of conversations whose
        id starts with ``prefix`` on their own channel (e.g. ``tg-`` → Telegram)."""
        self._outbound.append((prefix, send))

    async def push(self, conversation_id: str, messages: list[ChatMessage], *,
                   must_deliver: bool = False) -> list[ChatMessage]:
        """Record messages no shopper turn returns (an agent's reply, a notice) and send them
        out on the conversation's channel; the widget gets them through :meth:`record`.

        Args:
            must_deliver: for a caller that retries (the outbox relay): the channel is
                sent to first and :class:`OutboundFailed` raised before anything is
                recorded, so a retry neither loses the message nor shows it twice in the
                transcript. Otherwise a failed send is logged. With no channel to send
                to, a :class:`RedisError` is raised while Redis is down, and the caller
                retries; once sent, the message is kept like any other.
        """
        senders = [send for prefix, send in self._outbound if conversation_id.startswith(prefix)]
        if must_deliver:
            for send in senders:
                await send(conversation_id, messages)
            return [await self.record(conversation_id, m, keep=bool(senders))
                    for m in messages]
        stored = [await self.record(conversation_id, m) for m in messages]
        for send in senders:
            try:
                await send(conversation_id, stored)
            except OutboundFailed as exc:
                log.error("pushed messages not delivered: %s", exc,
                          extra={"conversation_id": conversation_id})
        return stored

    async def forget(self, conversation_id: str) -> None:
        """Drop what is kept of a conversation whose data is deleted: the replay history,
        the backlog, and the messages waiting for the bot (they must not reach it later)."""
        self.backlog.forget(conversation_id)
        while await self.pending.first(conversation_id) is not None:
            await self.pending.drop_first(conversation_id)
        forget = getattr(self.history, "forget", None)
        if forget is not None:
            await forget(conversation_id)
