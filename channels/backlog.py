"""What a conversation could not write to Redis while it was down, kept in this process
until Redis is back.

With ``ATELIER_REDIS_URL`` the gateway numbers and fans out messages, and keeps the
messages that wait for the bot, in Redis. When Redis does not answer, a message is written
to the SQL transcript (unnumbered) and kept here, with what the turn still has to do, in
order: record the message, drop the waiting message the bot has just answered, hand a turn
to the waiting messages. :meth:`channels.chat.ChatService.record` and the retry loop replay
them, oldest first, once Redis answers; until then anything new of that conversation queues
behind them, so its order never changes.

The backlog lives in this process: the SQL transcript keeps every message across a restart
of the gateway, but a turn kept here that the bot had not answered yet is not asked again
after such a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from channels.messages import ChatMessage
from channels.pending import PendingTurn

PAUSE_SECONDS = 1.0
"""After Redis failed, how long the retry loop leaves it alone (a shopper's turn always
tries it: a turn right after Redis is back must not be kept)."""


@dataclass(frozen=True)
class Kept:
    """One step of a conversation to replay once Redis answers (exactly one field set)."""

    message: ChatMessage | None = None
    """To number, store in the replay history and fan out."""
    turn: PendingTurn | None = None
    """To add to the messages that wait for the bot."""
    answered_first: bool = False
    """The bot answered the first waiting message: it is dropped from them."""


class Backlog:
    def __init__(self, pause: float = PAUSE_SECONDS) -> None:
        self._kept: dict[str, deque[Kept]] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._pause = pause
        self._down_until = 0.0

    def holds(self, conversation_id: str) -> bool:
        return conversation_id in self._kept

    def conversations(self) -> list[str]:
        return list(self._kept)

    def add(self, conversation_id: str, kept: Kept) -> None:
        self._kept.setdefault(conversation_id, deque()).append(kept)

    def first(self, conversation_id: str) -> Kept | None:
        kept = self._kept.get(conversation_id)
        return kept[0] if kept else None

    def drop_first(self, conversation_id: str) -> None:
        kept = self._kept.get(conversation_id)
        if kept:
            kept.popleft()
            if not kept:
                del self._kept[conversation_id]

    def forget(self, conversation_id: str) -> None:
        self._kept.pop(conversation_id, None)

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """Held while the conversation's steps are replayed (one replay at a time)."""
        return self._locks[conversation_id]

    def redis_failed(self) -> None:
        self._down_until = time.monotonic() + self._pause

    def redis_paused(self) -> bool:
        return time.monotonic() < self._down_until
