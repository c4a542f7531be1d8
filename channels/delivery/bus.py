"""Fan-out of recorded messages to the sockets that show a conversation.

:class:`LocalBus` (the default run) numbers a message in the history and hands it to this
process's subscribers. :class:`RedisBus` (``ATELIER_REDIS_URL``) numbers, stores and
publishes it in one Lua step, and every gateway replica hands what it hears on the
channel to its own subscribers: a message recorded on replica A reaches a socket held by
replica B exactly once, and in the order of its sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any, Protocol

from redis.exceptions import RedisError

from channels.delivery.history import History
from channels.messages import ChatMessage
from channels.redis_link import connect
from commerce_core.jobs import raise_if_cancel_lost, stop_task

log = logging.getLogger(__name__)
RESUBSCRIBE_SECONDS = 1.0


class Bus(Protocol):
    async def record(self, conversation_id: str, message: ChatMessage) -> ChatMessage: ...

    def subscribe(self, conversation_id: str) -> asyncio.Queue[Any]: ...

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[Any]) -> None: ...

    def deliver(self, conversation_id: str, message: ChatMessage) -> None:
        """Hand a message to this process's subscribers only (nothing is recorded)."""
        ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class _Subscribers:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)

    def subscribe(self, conversation_id: str) -> asyncio.Queue[Any]:
        """A queue receiving every message recorded in the conversation from now on."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queues[conversation_id].add(queue)
        return queue

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[Any]) -> None:
        queues = self._queues.get(conversation_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[conversation_id]

    def deliver(self, conversation_id: str, message: ChatMessage) -> None:
        for queue in self._queues.get(conversation_id, ()):
            queue.put_nowait(message)


class LocalBus(_Subscribers):
    """One process: store, then hand over at once (no await in between keeps the order)."""

    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history

    async def record(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        stored = await self.history.append(conversation_id, message)
        self.deliver(conversation_id, stored)
        return stored

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisBus(_Subscribers):
    """Several replicas: Redis pub/sub on ``<prefix>:bus``.

    The replica that records a message hears it back on the channel like every other
    one, so each subscriber gets it once, from one path. Two replicas may publish the
    numbers of one conversation out of order, and a message published while this
    replica's channel connection was down is not heard; both show as a gap in the
    numbers, which is filled from the history before the message that revealed it.

    While this replica is not subscribed (the channel connection is being re-made after
    Redis came back) or the publish fails after the message is stored, the message is
    handed to this replica's subscribers directly; a copy heard later carries the same
    number and is skipped by every socket.
    """

    def __init__(self, *, history: History, url: str, prefix: str) -> None:
        super().__init__()
        self.history = history
        self.channel = f"{prefix}:bus"
        self._redis = connect(url)
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._last: dict[str, int] = {}

    async def record(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        stored = await self.history.append(conversation_id, message)
        try:
            await self._redis.publish(self.channel,
                                      f"{conversation_id}\n{stored.model_dump_json()}")
        except RedisError as exc:  # stored: the other replicas fill the gap from it
            log.warning("message stored but not published (%s)", exc,
                        extra={"conversation_id": conversation_id})
            self.deliver(conversation_id, stored)
            return stored
        if not self._ready.is_set():
            self.deliver(conversation_id, stored)
        return stored

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[Any]) -> None:
        super().unsubscribe(conversation_id, queue)
        if conversation_id not in self._queues:
            self._last.pop(conversation_id, None)

    async def start(self) -> None:
        """Subscribe; returns once messages published from now on will be heard."""
        self._listener = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._ready.set()
                async for item in pubsub.listen():
                    await self._dispatch(item)
            except (RedisError, OSError) as exc:
                raise_if_cancel_lost()  # the client turned the cancellation into an error
                self._ready.clear()
                log.warning("message bus connection lost (%s); resubscribing", exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_SECONDS)

    async def _dispatch(self, item: dict[str, Any]) -> None:
        if item.get("type") != "message" or not isinstance(item.get("data"), str):
            return
        conversation_id, _, body = item["data"].partition("\n")
        if conversation_id not in self._queues:
            return  # no socket of this replica shows that conversation
        try:
            message = ChatMessage.model_validate_json(body)
        except ValueError:
            log.error("unreadable message on the bus",
                      extra={"conversation_id": conversation_id})
            return
        seq, last = message.seq or 0, self._last.get(conversation_id)
        if last is not None and seq <= last:
            return  # already handed over while filling a gap
        batch = [message]
        if last is not None and seq > last + 1:
            batch = [m for m in await self.history.since(conversation_id, last)
                     if (m.seq or 0) <= seq] or batch
        for item_message in batch:
            self.deliver(conversation_id, item_message)
        self._last[conversation_id] = max(seq, batch[-1].seq or 0)

    async def aclose(self) -> None:
        if self._listener is not None:
            await stop_task(self._listener, "the message bus listener")
        await self._redis.aclose()


def make_bus(history: History, *, redis_url: str | None, prefix: str) -> Bus:
    """Redis pub/sub when Redis is configured (the history is then Redis too), else local."""
    if redis_url:
        return RedisBus(history=history, url=redis_url, prefix=prefix)
    return LocalBus(history)
