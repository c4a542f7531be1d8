"""Shopper messages that reached the gateway while the bot was down, kept until it answers.

In process by default; in Redis (``<prefix>:pending:<conversation id>`` lists and the set
``<prefix>:pending``) when configured, so any replica can answer them after a restart. A
message is removed only after the bot has answered it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from typing import Protocol

from pydantic import BaseModel

from channels.redis_link import connect

CLAIM_SECONDS = 60
_DROP_FIRST = """
redis.call('LPOP', KEYS[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
"""


class PendingTurn(BaseModel):
    message: str
    """What goes to the bot: the text, or a button's payload."""
    metadata: dict[str, object]
    """As first sent, with the turn's ``turn_id``, so a message sent again is the same turn
    (the shopper's signature is renewed at each send)."""
    needs_actions: bool = False
    """It waits because the action server was down: Rasa kept nothing of the turn, and it
    goes to the bot again only once the action server answers its health check (a try
    before would only be refused again)."""


class Pending(Protocol):
    async def add(self, conversation_id: str, turn: PendingTurn) -> None: ...

    async def first(self, conversation_id: str) -> PendingTurn | None: ...

    async def drop_first(self, conversation_id: str) -> None: ...

    async def conversations(self) -> list[str]: ...

    async def claim(self, conversation_id: str) -> str | None:
        """A claim on answering the conversation's messages (one replica at a time)."""
        ...

    async def release(self, conversation_id: str, claim: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryPending:
    def __init__(self) -> None:
        self._turns: dict[str, deque[PendingTurn]] = defaultdict(deque)

    async def add(self, conversation_id: str, turn: PendingTurn) -> None:
        self._turns[conversation_id].append(turn)

    async def first(self, conversation_id: str) -> PendingTurn | None:
        turns = self._turns.get(conversation_id)
        return turns[0] if turns else None

    async def drop_first(self, conversation_id: str) -> None:
        turns = self._turns.get(conversation_id)
        if turns:
            turns.popleft()
            if not turns:
                del self._turns[conversation_id]

    async def conversations(self) -> list[str]:
        return list(self._turns)

    async def claim(self, conversation_id: str) -> str | None:
        return "local"  # the caller holds the conversation's lock of this process

    async def release(self, conversation_id: str, claim: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisPending:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = connect(url)
        self._prefix = prefix

    def _key(self, conversation_id: str) -> str:
        return f"{self._prefix}:pending:{conversation_id}"

    async def add(self, conversation_id: str, turn: PendingTurn) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._key(conversation_id), turn.model_dump_json())
            pipe.sadd(f"{self._prefix}:pending", conversation_id)
            await pipe.execute()

    async def first(self, conversation_id: str) -> PendingTurn | None:
        raw = await self._redis.lindex(self._key(conversation_id), 0)
        return PendingTurn.model_validate_json(raw) if raw is not None else None

    async def drop_first(self, conversation_id: str) -> None:
        await self._redis.eval(_DROP_FIRST, 2, self._key(conversation_id),
                               f"{self._prefix}:pending", conversation_id)

    async def conversations(self) -> list[str]:
        return sorted(await self._redis.smembers(f"{self._prefix}:pending"))

    async def claim(self, conversation_id: str) -> str | None:
        claim = uuid.uuid4().hex
        ok = await self._redis.set(f"{self._key(conversation_id)}:claim", claim, nx=True,
                                   ex=CLAIM_SECONDS)
        return claim if ok else None

    async def release(self, conversation_id: str, claim: str) -> None:
        key = f"{self._key(conversation_id)}:claim"
        if await self._redis.get(key) == claim:
            await self._redis.delete(key)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_pending(*, redis_url: str | None, prefix: str) -> Pending:
    """In Redis when configured (shared by gateway replicas), else in this process."""
    return RedisPending(redis_url, prefix) if redis_url else MemoryPending()
