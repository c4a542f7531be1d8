"""A shopper's turn: record it, ask the bot, record and fan out the answers.

With Redis configured, a turn degrades while Redis is down instead of failing: the message
goes to the SQL transcript and the conversation's backlog (:mod:`channels.delivery.outlet`),
the shopper gets an apology, and the bot is asked once Redis is back, in order and once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import defaultdict
from typing import Any, Protocol

from redis.exceptions import RedisError

from channels.backlog import Kept
from channels.delivery.outlet import Outbound, Outlet
from channels.errors import GatewayError
from channels.identity import IdentityError, Shopper, channel_of, default_shopper
from channels.messages import ChatMessage, from_rasa
from channels.pending import PendingTurn
from channels.rasa_client import ActionsUnavailable, BotUnavailable, RasaClient
from channels.turns import TurnLog
from commerce_core.observability.metrics import timed_turn

log = logging.getLogger(__name__)

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


class HandoffGate(Protocol):
    """What the chat service asks around a shopper's turn; the help desk
    (:class:`channels.handoff.desk.HandoffDesk`) answers."""

    async def shopper_turn(self, conversation_id: str, text: str, *,
                           shopper: dict[str, str] | None = None) -> list[ChatMessage] | None:
        """None when the bot answers this turn; else the notices for the shopper (maybe
        none): a person holds the conversation or is asked for."""
        ...

    async def after_bot(self, conversation_id: str,
                        answers: list[ChatMessage]) -> list[ChatMessage]:
        """The notices that follow the bot's answers (the bot may have handed off)."""
        ...

    async def bot_answers(self, conversation_id: str) -> bool:
        """Whether the bot holds the conversation (not queued for or held by a person)."""
        ...


def validate_message(conversation_id: str, text: str, payload: str | None, *,
                     max_chars: int) -> str:
    """The message's text, stripped; raises :class:`ChatInputError` for what the chat does
    not take."""
    if not CONVERSATION_ID_RE.match(conversation_id or ""):
        raise ChatInputError("invalid_conversation_id",
                             "conversation_id must be 1-64 letters, digits or . _ : -")
    text = (text or "").strip()
    if not text and not payload:
        raise ChatInputError("empty_message", "The message is empty.")
    if "\x00" in text:  # no store keeps it (PostgreSQL refuses it in text)
        raise ChatInputError("invalid_message",
                             "The message contains a NUL character; please type it again.")
    if len(text) > max_chars:
        raise ChatInputError(
            "message_too_long",
            f"Messages can be at most {max_chars} characters long "
            f"(this one has {len(text)}). Please shorten it or send it in parts.")
    if payload is not None and (not 0 < len(payload) <= MAX_PAYLOAD_CHARS
                                or "\x00" in payload):
        raise ChatInputError("invalid_payload", "That button payload is not valid.")
    return text


class ChatService:
    """Runs shopper turns; records through ``outlet`` and asks ``handoff`` (when given)
    whether the bot answers; ``turns`` (when given) keeps how long each answer took and
    whether the bot understood."""

    def __init__(self, *, rasa: RasaClient, outlet: Outlet, max_message_chars: int,
                 handoff: HandoffGate | None = None, turns: TurnLog | None = None) -> None:
        self.rasa = rasa
        self.outlet = outlet
        self.max_message_chars = max_message_chars
        self.handoff = handoff
        self.turns = turns
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def validate(self, conversation_id: str, text: str, payload: str | None) -> str:
        return validate_message(conversation_id, text, payload,
                                max_chars=self.max_message_chars)

    def add_outbound(self, prefix: str, send: Outbound) -> None:
        """See :meth:`Outlet.add_outbound`."""
        self.outlet.add_outbound(prefix, send)

    async def forget(self, conversation_id: str) -> None:
        """Drop what the gateway keeps of a conversation whose data is deleted (see
        :meth:`Outlet.forget`). Waits for a turn in progress, so that nothing of it is
        recorded afterwards."""
        async with self._locks[conversation_id]:
            await self.outlet.forget(conversation_id)

    async def _wait_for_redis(self, conversation_id: str,
                              turn: PendingTurn) -> list[ChatMessage]:
        """Keep a turn the bot cannot be asked now (Redis is down) and apologise."""
        return await self.outlet.keep_turn(conversation_id, turn,
                                           ChatMessage(role="system", text=BOT_DOWN_APOLOGY))

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
            try:  # the turn's transcript rows are one transaction, with its figures
                async with self.outlet.together(conversation_id):
                    return await self._turn(conversation_id, text, payload=payload,
                                            client_id=client_id, metadata=metadata)
            finally:
                if self.turns is not None:
                    await self.turns.settle(conversation_id)

    async def _turn(self, conversation_id: str, text: str, *, payload: str | None,
                    client_id: str | None, metadata: dict[str, Any]) -> list[ChatMessage]:
        """:meth:`handle_turn` once it holds the conversation."""
        await self.outlet.record(conversation_id, ChatMessage(
            role="shopper", text=text or payload, client_id=client_id))
        if self.handoff is not None:
            held = await self.handoff.shopper_turn(conversation_id, text or payload or "",
                                                   shopper=metadata["shopper"])
            if held is not None:  # a person answers: the bot is not asked
                return [await self.outlet.record(conversation_id, m) for m in held]
        turn = PendingTurn(message=payload or text, metadata=metadata)
        if self.outlet.backlog.holds(conversation_id):  # Redis is down: ask once it is back
            return await self._wait_for_redis(conversation_id, turn)
        try:
            if not await self._answer_pending(conversation_id):
                raise BotUnavailable("earlier messages still wait for the bot")
            asked = time.perf_counter()
            outputs = await self.rasa.send(conversation_id, payload or text,
                                           metadata=metadata)
            if self.turns is not None:
                await self.turns.record(conversation_id, metadata["shopper"]["channel"],
                                        text=payload or text,
                                        seconds=time.perf_counter() - asked,
                                        understood=outputs.understood)
            answers = from_rasa(outputs)
        except BotUnavailable as exc:
            log.warning("bot unavailable: %s; the message waits", exc,
                        extra={"conversation_id": conversation_id})
            turn.needs_actions = isinstance(exc, ActionsUnavailable)
            try:
                await self.outlet.pending.add(conversation_id, turn)
            except RedisError as redis_exc:
                self.outlet.redis_failed(redis_exc, conversation_id)
                return await self._wait_for_redis(conversation_id, turn)
            answers = [ChatMessage(role="system", text=BOT_DOWN_APOLOGY)]
        except RedisError as exc:  # from the waiting messages: this turn was not asked
            self.outlet.redis_failed(exc, conversation_id)
            return await self._wait_for_redis(conversation_id, turn)
        if not answers:
            log.error("bot produced no answer", extra={"conversation_id": conversation_id})
            answers = [ChatMessage(role="system", text=NO_ANSWER_APOLOGY)]
        recorded = [await self.outlet.record(conversation_id, m) for m in answers]
        if self.handoff is not None:
            for notice in await self.handoff.after_bot(conversation_id, answers):
                recorded.append(await self.outlet.record(conversation_id, notice))
        return recorded

    async def _answer_pending(self, conversation_id: str) -> bool:
        """Ask the bot the messages that waited for it, oldest first (caller holds the
        conversation's lock); False while the bot is still down."""
        while (turn := await self.outlet.pending.first(conversation_id)) is not None:
            if self.handoff is not None and not await self.handoff.bot_answers(conversation_id):
                # a person took the conversation meanwhile; they see the message in the
                # transcript, and the bot must not answer behind their back
                await self.outlet.pending.drop_first(conversation_id)
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
                await self.outlet.pending.drop_first(conversation_id)
            except RedisError:
                # answered: it must not be asked again, whatever happens next
                self.outlet.backlog.add(conversation_id, Kept(answered_first=True))
                await self.outlet.push(conversation_id, answers or [
                    ChatMessage(role="system", text=NO_ANSWER_APOLOGY)])
                raise
            await self.outlet.push(conversation_id, answers or [
                ChatMessage(role="system", text=NO_ANSWER_APOLOGY)])
            if self.handoff is not None:
                await self.outlet.push(conversation_id,
                                await self.handoff.after_bot(conversation_id, answers))
        return True

    async def answer_waiting(self) -> None:
        """Answer waiting messages if the bot is back, and record what was kept while
        Redis was down if it is back (a periodic job of the app)."""
        if self.outlet.backlog.redis_paused():
            return
        try:
            for conversation_id in self.outlet.backlog.conversations():
                async with self._locks[conversation_id]:
                    await self.outlet.replay_backlog(conversation_id)
            conversations = await self.outlet.pending.conversations()
            if not conversations or not await self.rasa.healthy():
                return
            for conversation_id in conversations:
                async with self._locks[conversation_id]:
                    if self.outlet.backlog.holds(conversation_id):
                        continue  # Redis failed again meanwhile
                    claim = await self.outlet.pending.claim(conversation_id)
                    if claim is None:
                        continue  # another replica is answering them
                    try:
                        await self._answer_pending(conversation_id)
                    finally:
                        await self.outlet.pending.release(conversation_id, claim)
        except RedisError as exc:
            self.outlet.redis_failed(exc)
