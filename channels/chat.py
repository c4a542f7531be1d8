"""A shopper's turn: record it, ask the bot, record and fan out the answers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from typing import Any

from channels.history import History
from channels.messages import ChatMessage, from_rasa
from channels.rasa_client import BotUnavailable, RasaClient

log = logging.getLogger(__name__)

CONVERSATION_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_PAYLOAD_CHARS = 1000
BOT_DOWN_APOLOGY = ("Sorry, I'm having trouble answering right now. Your message is saved; "
                    "please try again in a moment.")


class ChatInputError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class ChatService:
    def __init__(self, *, rasa: RasaClient, history: History, max_message_chars: int) -> None:
        self.rasa = rasa
        self.history = history
        self.max_message_chars = max_message_chars
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._subscribers: dict[str, set[asyncio.Queue[Any]]] = defaultdict(set)

    def validate(self, conversation_id: str, text: str, payload: str | None) -> str:
        if not CONVERSATION_ID_RE.match(conversation_id or ""):
            raise ChatInputError("invalid_conversation_id",
                                 "conversation_id must be 1-64 letters, digits or . _ : -")
        text = (text or "").strip()
        if not text and not payload:
            raise ChatInputError("empty_message", "The message is empty.")
        if len(text) > self.max_message_chars:
            raise ChatInputError(
                "message_too_long",
                f"Messages can be at most {self.max_message_chars} characters long "
                f"(this one has {len(text)}). Please shorten it or send it in parts.")
        if payload is not None and not 0 < len(payload) <= MAX_PAYLOAD_CHARS:
            raise ChatInputError("invalid_payload", "That button payload is not valid.")
        return text

    def subscribe(self, conversation_id: str) -> asyncio.Queue[Any]:
        """A queue receiving every message recorded in the conversation from now on."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._subscribers[conversation_id].add(queue)
        return queue

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[Any]) -> None:
        subscribers = self._subscribers.get(conversation_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[conversation_id]

    async def record(self, conversation_id: str, message: ChatMessage) -> ChatMessage:
        stored = await self.history.append(conversation_id, message)
        for queue in self._subscribers.get(conversation_id, ()):
            queue.put_nowait(stored)
        return stored

    async def handle_turn(self, conversation_id: str, text: str, *, payload: str | None = None,
                          client_id: str | None = None) -> list[ChatMessage]:
        """Run one shopper turn; returns the bot's recorded answers (never empty)."""
        text = self.validate(conversation_id, text, payload)
        async with self._locks[conversation_id]:
            await self.record(conversation_id, ChatMessage(role="shopper", text=text or payload,
                                                           client_id=client_id))
            try:
                outputs = await self.rasa.send(conversation_id, payload or text)
                answers = from_rasa(outputs)
            except BotUnavailable as exc:
                log.warning("bot unavailable: %s", exc,
                            extra={"conversation_id": conversation_id})
                answers = [ChatMessage(role="system", text=BOT_DOWN_APOLOGY)]
            if not answers:
                log.error("bot produced no answer", extra={"conversation_id": conversation_id})
                answers = [ChatMessage(role="system", text=BOT_DOWN_APOLOGY)]
            return [await self.record(conversation_id, m) for m in answers]
