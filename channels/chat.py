"""A shopper's turn: record it, ask the bot, record and fan out the answers.

With Redis configured, a turn degrades while Redis is down instead of failing: the message
goes to the SQL transcript and the conversation's backlog (:mod:`channels.backlog`), the
shopper gets an apology, and the bot is asked once Redis is back, in order and once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from channels.backlog import Backlog, Kept
from channels.bus import Bus, LocalBus
from channels.errors import GatewayError
from channels.history import History
from channels.identity import IdentityError, Shopper, channel_of, default_shopper
from channels.messages import ChatMessage, from_rasa
from channels.pending import MemoryPending, Pending, PendingTurn
from channels.rasa_client import ActionsUnavailable, BotUnavailable, RasaClient
from commerce_core.observability.metrics import timed_turn

if TYPE_CHECKING:
    from channels.desk import HandoffDesk

log = logging.getLogger(__name__)
Outbound = Callable[[str, list[ChatMessage]], Awaitable[object]]

CONVERSATION_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_PAYLOAD_CHARS = 1000
BOT_DOWN_APOLOGY = ("Sorry, I'm having trouble answering right now. Your message is saved "
                    "and I'll answer it as soon as I'm back.")
NO_ANSWER_APOLOGY = ("Sorry, I couldn't find an answer to that. Could you put it another way, "
                     "or ask to talk to a person?")


def new_turn_id() -> str:
    """The id of one shopper turn, kept with it while it waits for the bot."""
    return uuid.uuid4().hex


class ChatInputError(GatewayError, ValueError):
    """A message or conversation id the chat does not take (422)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


class OutboundFailed(RuntimeError):
    """A channel could not deliver pushed messages (for instance Telegram is unreachable)."""


class ChatService:
    def __init__(self, *, rasa: RasaClient, history: History, max_message_chars: int,
                 handoff: HandoffDesk | None = None, bus: Bus | None = None,
                 pending: Pending | None = None) -> None:
        self.rasa = rasa
        self.history = history
        self.bus = bus or LocalBus(history)
        self.pending = pending or MemoryPending()
        self.backlog = Backlog()
        self.max_message_chars = max_message_chars
        self.handoff = handoff
        self._outbound: list[tuple[str, Outbound]] = []
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def validate(self, conversation_id: str, text: str, payload: str | None) -> str:
        if not CONVERSATION_ID_RE.match(conversation_id or ""):
            raise ChatInputError("invalid_conversation_id",
                                 "conversation_id must be 1-64 letters, digits or . _ : -")
        text = (text or "").strip()
        if not text and not payload:
            raise ChatInputError("empty_message", "The message is empty.")
        if "\x00" in text:  # no store keeps it (PostgreSQL refuses it in text)
            raise ChatInputError("invalid_message",
                                 "The message contains a NUL character; please type it again.")
        if len(text) > self.max_message_chars:
            raise ChatInputError(
                "message_too_long",
                f"Messages can be at most {self.max_message_chars} characters long "
                f"(this one has {len(text)}). Please shorten it or send it in parts.")
        if payload is not None and (not 0 < len(payload) <= MAX_PAYLOAD_CHARS
                                    or "\x00" in payload):
            raise ChatInputError("invalid_payload", "That button payload is not valid.")
        return text

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
        if await self._replay_backlog(conversation_id):
            try:
                return await self.bus.record(conversation_id, message)
            except RedisError as exc:
                self._redis_failed(exc, conversation_id)
                if not keep:
                    raise
        elif not keep:
            raise RedisConnectionError("earlier messages of the conversation wait for Redis")
        transcribe = getattr(self.history, "keep", None)
        kept = await transcribe(conversation_id, message) if transcribe is not None else message
        self.backlog.add(conversation_id, Kept(message=kept))
        if message.role == "shopper":
            self.bus.deliver(conversation_id, kept)
        return kept

    def _redis_failed(self, exc: RedisError, conversation_id: str | None = None) -> None:
        if not self.backlog.redis_paused():
            log.warning("Redis is not answering (%s); messages are kept until it is back",
                        exc, extra={"conversation_id": conversation_id})
        self.backlog.redis_failed()

    async def _replay_backlog(self, conversation_id: str) -> bool:
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
                self._redis_failed(exc, conversation_id)
                return False
        if replayed:
            log.info("Redis is back: %d kept steps replayed", replayed,
                     extra={"conversation_id": conversation_id})
        return True

    async def _wait_for_redis(self, conversation_id: str, turn: PendingTurn) -> list[ChatMessage]:
        """Keep a turn the bot cannot be asked now (Redis is down) and apologise. The
        apology is shown at once and written to the transcript, but not replayed: the
        shopper has seen it."""
        self.backlog.add(conversation_id, Kept(turn=turn))
        apology = ChatMessage(role="system", text=BOT_DOWN_APOLOGY)
        keep = getattr(self.history, "keep", None)
        if keep is not None:
            await keep(conversation_id, apology)
        self.bus.deliver(conversation_id, apology)
        return [apology]

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
        """Drop what the gateway keeps of a conversation whose data is deleted: the replay
        history, and the messages waiting for the bot (they must not reach it later). Waits
        for a turn in progress, so that nothing of it is recorded afterwards."""
        async with self._locks[conversation_id]:
            self.backlog.forget(conversation_id)
            while await self.pending.first(conversation_id) is not None:
                await self.pending.drop_first(conversation_id)
            forget = getattr(self.history, "forget", None)
            if forget is not None:
                await forget(conversation_id)

    @timed_turn(channel_of)
    async def handle_turn(self, conversation_id: str, text: str, *, payload: str | None = None,
                          client_id: str | None = None,
                          shopper: Shopper | None = None) -> list[ChatMessage]:
        """Run one shopper turn; returns the recorded answers (none while an agent holds it).

        ``shopper`` is who the gateway vouches for (a signed customer token); by default
        the conversation itself. It goes to the bot as metadata with every message, with
        the turn's id (``turn_id``), which stays the same when a waiting message is sent
        again: the actions place an order with it as the Idempotency-Key, so a turn
        replayed after the action server died mid-turn never places a second one.
        """
        text = self.validate(conversation_id, text, payload)
        try:
            metadata = {"shopper": (shopper or default_shopper(conversation_id)).as_metadata(),
                        "turn_id": new_turn_id()}
        except IdentityError as exc:
            raise ChatInputError(exc.code, exc.message) from exc
        async with self._locks[conversation_id]:
            await self.record(conversation_id, ChatMessage(role="shopper", text=text or payload,
                                                           client_id=client_id))
            if self.handoff is not None:
                held = await self.handoff.shopper_turn(conversation_id, text or payload or "",
                                                       shopper=metadata["shopper"])
                if held is not None:  # a person answers: the bot is not asked
                    return [await self.record(conversation_id, m) for m in held]
            turn = PendingTurn(message=payload or text, metadata=metadata)
            if self.backlog.holds(conversation_id):  # Redis is down: ask once it is back
                return await self._wait_for_redis(conversation_id, turn)
            try:
                if not await self._answer_pending(conversation_id):
                    raise BotUnavailable("earlier messages still wait for the bot")
                answers = from_rasa(await self.rasa.send(conversation_id, payload or text,
                                                         metadata=metadata))
            except BotUnavailable as exc:
                log.warning("bot unavailable: %s; the message waits", exc,
                            extra={"conversation_id": conversation_id})
                turn.needs_actions = isinstance(exc, ActionsUnavailable)
                try:
                    await self.pending.add(conversation_id, turn)
                except RedisError as redis_exc:
                    self._redis_failed(redis_exc, conversation_id)
                    return await self._wait_for_redis(conversation_id, turn)
                answers = [ChatMessage(role="system", text=BOT_DOWN_APOLOGY)]
            except RedisError as exc:  # from the waiting messages: this turn was not asked
                self._redis_failed(exc, conversation_id)
                return await self._wait_for_redis(conversation_id, turn)
            if not answers:
                log.error("bot produced no answer", extra={"conversation_id": conversation_id})
                answers = [ChatMessage(role="system", text=NO_ANSWER_APOLOGY)]
            recorded = [await self.record(conversation_id, m) for m in answers]
            if self.handoff is not None:
                for notice in await self.handoff.after_bot(conversation_id, answers):
                    recorded.append(await self.record(conversation_id, notice))
            return recorded

    async def _answer_pending(self, conversation_id: str) -> bool:
        """Ask the bot the messages that waited for it, oldest first (caller holds the
        conversation's lock); False while the bot is still down."""
        while (turn := await self.pending.first(conversation_id)) is not None:
            if self.handoff is not None and not await self.handoff.bot_answers(conversation_id):
                # a person took the conversation meanwhile; they see the message in the
                # transcript, and the bot must not answer behind their back
                await self.pending.drop_first(conversation_id)
                continue
            if turn.needs_actions and not await self.rasa.actions_healthy():
                return False
            try:
                outputs = await self.rasa.send(conversation_id, turn.message,
                                               metadata=turn.metadata)
            except BotUnavailable:
                return False
            answers = from_rasa(outputs)
            try:
                await self.pending.drop_first(conversation_id)
            except RedisError:
                # answered: it must not be asked again, whatever happens next
                self.backlog.add(conversation_id, Kept(answered_first=True))
                await self.push(conversation_id, answers or [
                    ChatMessage(role="system", text=NO_ANSWER_APOLOGY)])
                raise
            await self.push(conversation_id, answers or [
                ChatMessage(role="system", text=NO_ANSWER_APOLOGY)])
            if self.handoff is not None:
                await self.push(conversation_id,
                                await self.handoff.after_bot(conversation_id, answers))
        return True

    async def answer_waiting(self) -> None:
        """Answer waiting messages if the bot is back, and record what was kept while
        Redis was down if it is back (a periodic job of the app)."""
        if self.backlog.redis_paused():
            return
        try:
            for conversation_id in self.backlog.conversations():
                async with self._locks[conversation_id]:
                    await self._replay_backlog(conversation_id)
            conversations = await self.pending.conversations()
            if not conversations or not await self.rasa.healthy():
                return
            for conversation_id in conversations:
                async with self._locks[conversation_id]:
                    if self.backlog.holds(conversation_id):
                        continue  # Redis failed again meanwhile
                    claim = await self.pending.claim(conversation_id)
                    if claim is None:
                        continue  # another replica is answering them
                    try:
                        await self._answer_pending(conversation_id)
                    finally:
                        await self.pending.release(conversation_id, claim)
        except RedisError as exc:
            self._redis_failed(exc)
