"""Who answers a conversation: the bot, the queue, an agent — and the only way to change it.

Every move goes through :func:`transition`: it is checked against :data:`ALLOWED` and done
as one ``UPDATE … WHERE state = :expected`` whose row count says whether this request won.
Two agents claiming the same conversation therefore cannot both get it, on SQLite and on
PostgreSQL alike, and each move writes a ``conversation_event`` row in the same transaction.
The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.errors import GatewayError
from channels.identity import channel_of
from commerce_core.models import Conversation, ConversationEvent
from commerce_core.models import ConversationState as State
from commerce_core.models.base import utcnow
from commerce_core.observability.metrics import HANDOFFS

REASONS = {"shopper_request", "repeated_failure", "frustrated", "faq_unanswered", "agent"}
MAX_SUMMARY = 500

ALLOWED: dict[tuple[State, State], str] = {
    (State.BOT, State.WAITING): "the bot hands off (or the shopper asks for a person)",
    (State.BOT, State.AGENT): "an agent takes over a conversation on their own initiative",
    (State.BOT, State.CLOSED): "an agent closes a conversation",
    (State.WAITING, State.AGENT): "an agent claims a waiting conversation",
    (State.WAITING, State.BOT): "an agent sends a waiting shopper back to the bot",
    (State.WAITING, State.CLOSED): "an agent closes a waiting conversation",
    (State.AGENT, State.BOT): "the agent hands back to the bot",
    (State.AGENT, State.CLOSED): "the agent closes the conversation",
    (State.CLOSED, State.BOT): "the shopper writes again",
}
"""Every allowed move and why it happens; anything else is refused."""

HELD_BY_AGENT = {State.AGENT}
"""Moves out of these states may only be made by the agent who holds the conversation."""


class TransitionError(GatewayError):
    """A move that is not allowed, or that lost a race (the state is no longer expected):
    409, or 404 for a conversation that does not exist."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message,
                         http_status=404 if code == "conversation_not_found" else 409)


def identity_of(conversation_id: str) -> tuple[str, str]:
    """The shopper a conversation id stands for until a turn names one (bot metadata).

    The rule of :func:`channels.identity.default_shopper`: ``tg-<chat id>`` is a Telegram
    chat, any other id a web session; the conversation id is the external id.
    """
    return channel_of(conversation_id), conversation_id


def ensure_conversation(*, session: Session, conversation_id: str,
                        identity: tuple[str, str] | None = None) -> Conversation:
    """The conversation row, created (state ``bot``) on its first message."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None:
        return conversation
    channel, external_id = identity or identity_of(conversation_id)
    try:
        with session.begin_nested():
            conversation = Conversation(id=conversation_id, channel=channel,
                                        external_id=external_id, state=State.BOT)
            session.add(conversation)
            session.flush()
    except IntegrityError:  # another replica created it first
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
    return conversation


def check_move(current: State, target: State) -> None:
    if (current, target) not in ALLOWED:
        raise TransitionError("transition_not_allowed",
                              f"A conversation cannot go from {current.value} to {target.value}.")


def transition(*, session: Session, conversation_id: str, expected: State, target: State,
               agent_id: int | None = None, reason: str | None = None,
               summary: str | None = None, now: datetime | None = None) -> None:
    """Move ``expected`` → ``target`` atomically, or raise :class:`TransitionError`.

    ``agent_id`` is the agent making the move: required to take a conversation, and
    moves out of an agent's hands are only made by that agent.
    """
    check_move(expected, target)
    now = now or utcnow()
    values: dict[str, Any] = {"state": target, "updated_at": now}
    condition = [Conversation.id == conversation_id, Conversation.state == expected]
    if expected in HELD_BY_AGENT:
        if agent_id is None:
            raise TransitionError("not_your_conversation", "Only the agent who holds the "
                                  "conversation can do that.")
        condition.append(Conversation.agent_id == agent_id)
    if target == State.AGENT:
        if agent_id is None:
            raise TransitionError("agent_required", "An agent must take the conversation.")
        values["agent_id"] = agent_id
    elif target == State.WAITING:
        reason = reason if reason in REASONS else "shopper_request"
        values.update(handoff_reason=reason,
                      summary=(summary or "")[:MAX_SUMMARY] or None, waiting_since=now,
                      queue_reminded=False, timeout_notified_at=None, agent_id=None)
    else:
        values["agent_id"] = None
    if target != State.AGENT and target != State.WAITING:
        values["waiting_since"] = None
    result = session.execute(update(Conversation).where(*condition).values(**values)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        current = session.scalar(select(Conversation.state)
                                 .where(Conversation.id == conversation_id))
        if current is None:
            raise TransitionError("conversation_not_found", "There is no such conversation.")
        if current == expected:
            raise TransitionError("not_your_conversation",
                                  "Another agent holds this conversation.")
        raise TransitionError("conversation_changed",
                              f"The conversation is now {State(current).value}; "
                              "refresh and try again.")
    session.add(ConversationEvent(conversation_id=conversation_id, from_state=expected.value,
                                  to_state=target.value, agent_id=agent_id,
                                  reason=reason, created_at=now))
    session.flush()
    session.expire_all()
    if target == State.WAITING:
        HANDOFFS.labels(values["handoff_reason"]).inc()


def move(*, session: Session, conversation_id: str, target: State,
         from_states: Sequence[State], agent_id: int | None = None,
         reason: str | None = None) -> State:
    """Move from whichever of ``from_states`` the conversation is in now; returns that state.

    The read and the guarded update are separate, so a concurrent move between them makes
    the update find no row and raise ``conversation_changed`` — never a double move.
    """
    current = session.scalar(select(Conversation.state)
                             .where(Conversation.id == conversation_id))
    if current is None:
        raise TransitionError("conversation_not_found", "There is no such conversation.")
    current = State(current)
    if current not in from_states:
        if current != target:  # already there (e.g. taken by another agent): it changed
            check_move(current, target)
        raise TransitionError("conversation_changed",
                              f"The conversation is {'already ' if current == target else ''}"
                              f"{current.value}; that is not possible now.")
    transition(session=session, conversation_id=conversation_id, expected=current,
               target=target, agent_id=agent_id, reason=reason)
    return current


@dataclass(frozen=True)
class QueueEntry:
    id: str
    channel: str
    state: str
    agent_id: int | None
    reason: str | None
    summary: str | None
    waiting_since: datetime | None
    contact_email: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "state": self.state,
                "agent_id": self.agent_id, "reason": self.reason, "summary": self.summary,
                "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
                "contact_email": self.contact_email}


def entry(c: Conversation) -> QueueEntry:
    return QueueEntry(id=c.id, channel=c.channel, state=c.state.value, agent_id=c.agent_id,
                      reason=c.handoff_reason, summary=c.summary, waiting_since=c.waiting_since,
                      contact_email=c.contact_email)


def queue(*, session: Session, agent_id: int) -> dict[str, list[QueueEntry]]:
    """The waiting conversations (longest wait first) and those the agent holds."""
    waiting = session.scalars(select(Conversation).where(Conversation.state == State.WAITING)
                              .order_by(Conversation.waiting_since, Conversation.id))
    mine = session.scalars(select(Conversation).where(Conversation.state == State.AGENT,
                                                      Conversation.agent_id == agent_id)
                           .order_by(Conversation.updated_at.desc()))
    return {"waiting": [entry(c) for c in waiting], "mine": [entry(c) for c in mine]}
