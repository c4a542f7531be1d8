"""The help desk: what happens around a handoff, for the shopper and for the agents.

:class:`~channels.chat.ChatService` asks it (as its
:class:`~channels.chat.HandoffGate`) before each shopper turn whether the bot may answer
(:meth:`HandoffDesk.shopper_turn`) and hands it the bot's answers
(:meth:`HandoffDesk.after_bot`); the agent console calls :meth:`claim`, :meth:`reply`,
:meth:`hand_back` and :meth:`close`; :meth:`notify_timeouts` (a periodic job of the app)
tells shoppers nobody picked up.
Messages to the shopper go through :meth:`Outlet.push`, which records them (widget,
transcript) and sends them out on the conversation's channel (Telegram); the bot is asked
through the Rasa client.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.chat import validate_message
from channels.config import GatewaySettings
from channels.delivery.outlet import Outlet
from channels.handoff.repository import ConversationRepository
from channels.handoff.staffing import StaffedHours
from channels.handoff.state import TransitionError
from channels.messages import ChatMessage, from_rasa
from channels.rasa_client import BotUnavailable, RasaClient
from commerce_core.db import begin_read
from commerce_core.models import ConversationState as State

log = logging.getLogger(__name__)
T = TypeVar("T")

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
HANDBACK = "/handback"
WAITING = ("I've asked a person from the shop to join. Please stay here; you're in the queue "
           "and your messages will be passed on.")
STILL_WAITING = ("You're in the queue; a person from the shop will answer here as soon as "
                 "they are free.")
BOT_BACK = "You're back with the shop's assistant."
CLOSED = "This conversation was closed by the shop. Write again any time."
EMAIL_NOTED = "Thank you — the team will write to you at {email}."


@dataclass(frozen=True)
class AgentRef:
    """The signed-in agent, detached from any database session."""

    id: int
    email: str
    name: str


def joined(agent: AgentRef) -> str:
    return f"{agent.name} from the shop has joined the conversation."


def nobody_free(hours: StaffedHours) -> str:
    return (f"Sorry, nobody from the shop is free right now. The team answers {hours.describe()}. "
            "You can leave your email address here and they will write to you, "
            "or keep chatting and someone will reply as soon as they can.")


class HandoffDesk:
    def __init__(self, *, session_factory: sessionmaker[Session], outlet: Outlet,
                 rasa: RasaClient, staffed_hours: StaffedHours, timeout: timedelta,
                 max_message_chars: int) -> None:
        self.session_factory = session_factory
        self.outlet = outlet
        self.rasa = rasa
        self.staffed_hours = staffed_hours
        self.timeout = timeout
        self.max_message_chars = max_message_chars
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()

    async def _db(self, work: Callable[[ConversationRepository], T], *,
                  read: bool = False) -> T:
        """Run ``work`` in a session of its own, committed, off the event loop; ``read``:
        it only reads (:func:`~commerce_core.db.begin_read`)."""
        def run() -> T:
            with self.session_factory() as session:
                if read:
                    begin_read(session)
                result = work(ConversationRepository(session))
                session.commit()
                return result
        return await run_in_threadpool(run)

    # --- live updates for agent consoles of this process

    def listen(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._listeners.add(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.discard(queue)

    def _changed(self, conversation_id: str) -> None:
        for queue in self._listeners:
            queue.put_nowait({"type": "queue_changed", "conversation_id": conversation_id})

    # --- the shopper side

    async def bot_answers(self, conversation_id: str) -> bool:
        """Whether the bot holds the conversation (not queued for or held by an agent)."""
        state = await self._db(lambda conversations: conversations.state(conversation_id),
                               read=True)
        return state not in (State.WAITING, State.AGENT)

    async def shopper_turn(self, conversation_id: str, text: str, *,
                           shopper: dict[str, str] | None = None) -> list[ChatMessage] | None:
        """None when the bot answers this turn; else the notices for the shopper (maybe none).

        The shopper's message is already recorded, so an agent sees it live. ``shopper`` is
        who the gateway vouches for (bot metadata); the console shows that customer.
        """
        if await self._db(lambda conversations: conversations.bot_holds(
                conversation_id, shopper=shopper), read=True):
            return None  # the usual turn: a look, and no write lock taken

        def work(conversations: ConversationRepository,
                 ) -> tuple[list[ChatMessage] | None, bool]:
            conversation = conversations.ensure(conversation_id=conversation_id)
            if shopper is not None and (conversation.channel, conversation.external_id) != (
                    shopper["channel"], shopper["external_id"]):
                conversation.channel = shopper["channel"]
                conversation.external_id = shopper["external_id"]
            state = conversation.state
            if state == State.CLOSED:
                conversations.transition(conversation_id=conversation_id, expected=State.CLOSED,
                                         target=State.BOT, reason="shopper_returned")
                return None, True
            if state == State.BOT:
                return None, False
            if state == State.AGENT:
                return [], False
            email = EMAIL_RE.search(text or "")
            if email is not None:
                conversation.contact_email = email.group(0)
                return [ChatMessage(role="system",
                                    text=EMAIL_NOTED.format(email=email.group(0)))], True
            return ([ChatMessage(role="system", text=STILL_WAITING)]
                    if conversations.remind_once(conversation_id) else []), False

        try:
            notices, changed = await self._db(work)
        except TransitionError:  # an agent moved it meanwhile: the bot answers
            return None
        if changed:
            self._changed(conversation_id)
        return notices

    async def after_bot(self, conversation_id: str,
                        answers: list[ChatMessage]) -> list[ChatMessage]:
        """The bot handed off (``custom.handoff`` on an answer): queue the conversation."""
        handoff = next((m.handoff for m in answers if m.handoff), None)
        if handoff is None:
            return []
        try:
            await self._db(lambda conversations: conversations.transition(
                conversation_id=conversation_id, expected=State.BOT,
                target=State.WAITING, reason=handoff.get("reason"),
                summary=handoff.get("summary")))
        except TransitionError as exc:  # already queued or taken: nothing to tell
            log.info("handoff ignored: %s", exc.message,
                     extra={"conversation_id": conversation_id})
            return []
        log.info("conversation handed off (%s)", handoff.get("reason"),
                 extra={"conversation_id": conversation_id})
        self._changed(conversation_id)
        return [ChatMessage(role="system", text=WAITING)]

    # --- the agent side

    async def claim(self, *, agent: AgentRef, conversation_id: str) -> None:
        """Take a waiting conversation (or one the bot has) — exactly one agent wins."""
        await self._db(lambda conversations: conversations.move(
            conversation_id=conversation_id, target=State.AGENT,
            from_states=(State.WAITING, State.BOT), agent_id=agent.id, reason="agent"))
        self._changed(conversation_id)
        await self.outlet.push(conversation_id, [ChatMessage(role="system", text=joined(agent))])

    async def reply(self, *, agent: AgentRef, conversation_id: str, text: str) -> ChatMessage:
        text = validate_message(conversation_id, text, None, max_chars=self.max_message_chars)

        if not await self._db(lambda conversations: conversations.held_by(conversation_id,
                                                                          agent.id),
                              read=True):
            raise TransitionError("not_your_conversation",
                                  "Take the conversation before replying to it.")
        [sent] = await self.outlet.push(conversation_id, [ChatMessage(role="agent", text=text)])
        return sent

    async def hand_back(self, *, agent: AgentRef, conversation_id: str) -> None:
        """To the bot: the shopper is told, then the bot picks up where it was (``/handback``)."""
        def work(conversations: ConversationRepository) -> dict[str, str]:
            conversations.move(conversation_id=conversation_id, target=State.BOT,
                               from_states=(State.AGENT, State.WAITING), agent_id=agent.id,
                               reason="handback")
            return conversations.shopper(conversation_id)

        shopper = await self._db(work)
        self._changed(conversation_id)
        await self.outlet.push(conversation_id, [ChatMessage(role="system", text=BOT_BACK)])
        try:
            answers = from_rasa(await self.rasa.send(conversation_id, HANDBACK,
                                                     metadata={"shopper": shopper}))
        except BotUnavailable as exc:  # the shopper's next message goes to the bot anyway
            log.warning("bot unavailable at hand-back: %s", exc,
                        extra={"conversation_id": conversation_id})
            return
        if answers:
            await self.outlet.push(conversation_id, answers)

    async def close(self, *, agent: AgentRef, conversation_id: str) -> None:
        await self._db(lambda conversations: conversations.move(
            conversation_id=conversation_id, target=State.CLOSED,
            from_states=(State.AGENT, State.WAITING, State.BOT), agent_id=agent.id,
            reason="closed"))
        self._changed(conversation_id)
        await self.outlet.push(conversation_id, [ChatMessage(role="system", text=CLOSED)])

    # --- nobody picked up

    async def notify_timeouts(self) -> int:
        """Tell the shoppers waiting too long that nobody is free (safe with several
        replicas)."""
        overdue = await self._db(lambda conversations: conversations.claim_timeouts(
            waited=self.timeout))
        for conversation_id in overdue:
            await self.outlet.push(conversation_id, [
                ChatMessage(role="system", text=nobody_free(self.staffed_hours))])
        return len(overdue)


def make_desk(settings: GatewaySettings, session_factory: sessionmaker[Session], *,
              outlet: Outlet, rasa: RasaClient) -> HandoffDesk:
    return HandoffDesk(session_factory=session_factory, outlet=outlet, rasa=rasa,
                       staffed_hours=StaffedHours.parse(settings.staffed_hours),
                       timeout=timedelta(seconds=settings.handoff_timeout_seconds),
                       max_message_chars=settings.max_message_chars)
