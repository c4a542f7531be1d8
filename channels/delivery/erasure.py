"""Wiping a deleted customer's conversations from the bot's memory (Rasa's tracker store).

Deleting a customer's personal data (the agent console) removes the gateway's transcripts,
replay history and messages waiting for the bot; Rasa still holds every event of those
conversations, the shopper's words among them. Each conversation's events are replaced
with an empty list through Rasa's HTTP API (``PUT /conversations/<id>/tracker/events``,
served with ``rasa run --enable-api``).

The conversations are written down before the deletion commits and crossed off only once
Rasa has replaced their events. One the bot could not wipe (down, starting, API not
enabled) stays on the list: the agent is told it waits, :func:`retry_wipes` tries again
while the gateway runs, and nothing claims it is gone before it is. The list lives in
Redis when configured (a gateway restart does not lose it; every replica retries it, which
is harmless: an empty tracker emptied again), else in this process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from channels.rasa_client import BotUnavailable, RasaClient
from channels.redis_link import connect

log = logging.getLogger(__name__)


class Wipes(Protocol):
    """The conversations whose tracker still has to be emptied."""

    async def add(self, conversation_ids: Iterable[str]) -> None: ...

    async def remove(self, conversation_id: str) -> None: ...

    async def waiting(self) -> list[str]: ...

    async def aclose(self) -> None: ...


class MemoryWipes:
    def __init__(self) -> None:
        self._ids: set[str] = set()

    async def add(self, conversation_ids: Iterable[str]) -> None:
        self._ids.update(conversation_ids)

    async def remove(self, conversation_id: str) -> None:
        self._ids.discard(conversation_id)

    async def waiting(self) -> list[str]:
        return sorted(self._ids)

    async def aclose(self) -> None:
        return None


class RedisWipes:
    """The set ``<prefix>:tracker-wipes``."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = connect(url)
        self._key = f"{prefix}:tracker-wipes"

    async def add(self, conversation_ids: Iterable[str]) -> None:
        ids = list(conversation_ids)
        if ids:
            await self._redis.sadd(self._key, *ids)

    async def remove(self, conversation_id: str) -> None:
        await self._redis.srem(self._key, conversation_id)

    async def waiting(self) -> list[str]:
        return sorted(await self._redis.smembers(self._key))

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_wipes(*, redis_url: str | None, prefix: str) -> Wipes:
    return RedisWipes(redis_url, prefix) if redis_url else MemoryWipes()


async def wipe_trackers(*, rasa: RasaClient, wipes: Wipes,
                        conversation_ids: Iterable[str]) -> list[str]:
    """Empty the trackers of conversations already on ``wipes``; returns those still waiting."""
    waiting = []
    for conversation_id in conversation_ids:
        try:
            await rasa.replace_events(conversation_id, [])
        except BotUnavailable as exc:
            log.warning("bot tracker not wiped yet (%s); retrying later", exc,
                        extra={"conversation_id": conversation_id})
            waiting.append(conversation_id)
            continue
        await wipes.remove(conversation_id)
        log.info("bot tracker wiped", extra={"conversation_id": conversation_id})
    return waiting


async def retry_wipes(*, rasa: RasaClient, wipes: Wipes) -> None:
    """Wipe the waiting trackers if the bot answers again (a periodic job of the app)."""
    waiting = await wipes.waiting()
    if waiting and await rasa.healthy():
        await wipe_trackers(rasa=rasa, wipes=wipes, conversation_ids=waiting)
