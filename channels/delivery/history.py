"""Per-conversation message history with increasing sequence numbers.

The widget reconnects with ``after=<last seq>`` and is sent what it missed. The
default run keeps history in process; with ``ATELIER_REDIS_URL`` it lives in Redis
so it survives a restart and is shared by several gateway replicas.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from typing import Protocol

from channels.messages import ChatMessage
from channels.redis_link import connect


class History(Protocol):
    async def append(self, conversation_id: str, message: ChatMessage) -> ChatMessage: ...

    async def since(self, conversation_id: str, after: int) -> list[ChatMessage]: ...

    async def aclose(self) -> None: ...


class MemoryHistory:
    """History in this process only (the default run).

    Sequence numbers start from the start time in milliseconds, so after a restart they
    are still above any a widget saw before and its ``after=`` never hides new messages.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._messages: dict[str, deque[ChatMessage]] = defaultdict(lambda: deque(maxlen=limit))
        base = time.time_ns() // 1_000_000
        self._seq: dict[str, int] = defaultdict(lambda: base)
        self._lock = asyncio.Lock()

    async def append(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        async with self._lock:
            self._seq[conversation_id] += 1
            stored = message.model_copy(update={"seq": self._seq[conversation_id]})
            self._messages[conversation_id].append(stored)
        return stored

    async def since(self, conversation_id: str, after: int) -> list[ChatMessage]:
        return [m for m in self._messages.get(conversation_id, ()) if (m.seq or 0) > after]

    async def forget(self, conversation_id: str) -> None:
        """Drop the messages (a customer's data is deleted); numbering goes on."""
        async with self._lock:
            self._messages.pop(conversation_id, None)

    async def aclose(self) -> None:
        return None


_APPEND = """
local seq = redis.call('INCR', KEYS[1])
local stored = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], stored)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return seq
"""


class RedisHistory:
    """History in Redis: ``<prefix>:conv:<id>:seq`` (INCR) and ``:log`` (a capped list)."""

    def __init__(self, url: str, prefix: str, limit: int) -> None:
        self._redis = connect(url)
        self._prefix = prefix
        self._limit = limit

    def _key(self, conversation_id: str, kind: str) -> str:
        return f"{self._prefix}:conv:{conversation_id}:{kind}"

    async def append(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        """Number and store ``message`` in one atomic step (Lua): when several replicas write
        to one conversation, a message numbered ``n`` is in the log before ``n + 1`` is."""
        body = message.model_dump_json(exclude={"seq"})
        seq = await self._redis.eval(
            _APPEND, 2, self._key(conversation_id, "seq"), self._key(conversation_id, "log"),
            body, self._limit)
        return message.model_copy(update={"seq": int(seq)})

    async def since(self, conversation_id: str, after: int) -> list[ChatMessage]:
        raw = await self._redis.lrange(self._key(conversation_id, "log"), 0, -1)
        messages = [ChatMessage.model_validate_json(item) for item in raw]
        # Two replicas may push out of seq order; the reader sorts.
        return sorted((m for m in messages if (m.seq or 0) > after), key=lambda m: m.seq or 0)

    async def forget(self, conversation_id: str) -> None:
        """Drop the messages (a customer's data is deleted); numbering goes on."""
        await self._redis.delete(self._key(conversation_id, "log"))

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def aclose(self) -> None:
        await self._redis.aclose()
