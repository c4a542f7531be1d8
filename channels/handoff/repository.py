"""All SQL of conversations' handoff: guarded moves with their event rows, the queue, and
what the help desk reads and marks.

Every move goes through :meth:`ConversationRepository.transition`: it is checked against
:data:`channels.handoff.state.ALLOWED` and done as one ``UPDATE … WHERE state = :expected``
whose row count says whether this request won. Two agents claiming the same conversation
therefore cannot both get it, on SQLite and on PostgreSQL alike, and each move writes a
``conversation_event`` row in the same transaction. The caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.handoff.state import (
    HELD_BY_AGENT,
    MAX_SUMMARY,
    REASONS,
    QueueEntry,
    TransitionError,
    check_move,
    entry,
    identity_of,
)
from commerce_core.models import Conversation, ConversationEvent
from commerce_core.models import ConversationState as State
from commerce_core.models.base import utcnow
from commerce_core.observability.metrics import HANDOFFS

TIMEOUTS_PER_RUN = 100


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure(self, *, conversation_id: str,
               identity: tuple[str, str] | None = None) -> Conversation:
        """The conversation row, created (state ``bot``) on its first message."""
        conversation = self.session.get(Conversation, conversation_id)
        if conversation is not None:
            return conversation
        channel, external_id = identity or identity_of(conversation_id)
        try:
            with self.session.begin_nested():
                conversation = Conversation(id=conversation_id, channel=channel,
                                            external_id=external_id, state=State.BOT)
                self.session.add(conversation)
                self.session.flush()
        except IntegrityError:  # another replica created it first
            conversation = self.session.get(Conversation, conversation_id)
            assert conversation is not None
        return conversation

    def transition(self, *, conversation_id: str, expected: State, target: State,
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
        result = self.session.execute(update(Conversation).where(*condition).values(**values)
                                      .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            current = self.state(conversation_id)
            if current is None:
                raise TransitionError("conversation_not_found", "There is no such conversation.")
            if current == expected:
                raise TransitionError("not_your_conversation",
                                      "Another agent holds this conversation.")
            raise TransitionError("conversation_changed",
                                  f"The conversation is now {State(current).value}; "
                                  "refresh and try again.")
        self.session.add(ConversationEvent(
            conversation_id=conversation_id, from_state=expected.value, to_state=target.value,
            agent_id=agent_id, reason=reason, created_at=now))
        self.session.flush()
        self.session.expire_all()
        if target == State.WAITING:
            HANDOFFS.labels(values["handoff_reason"]).inc()

    def move(self, *, conversation_id: str, target: State,
             from_states: Sequence[State], agent_id: int | None = None,
             reason: str | None = None) -> State:
        """Move from whichever of ``from_states`` the conversation is in now; returns that state.

        The read and the guarded update are separate, so a concurrent move between them makes
        the update find no row and raise ``conversation_changed`` — never a double move.
        """
        current = self.state(conversation_id)
        if current is None:
            raise TransitionError("conversation_not_found", "There is no such conversation.")
        current = State(current)
        if current not in from_states:
            if current != target:  # already there (e.g. taken by another agent): it changed
                check_move(current, target)
            raise TransitionError("conversation_changed",
                                  f"The conversation is {'already ' if current == target else ''}"
                                  f"{current.value}; that is not possible now.")
        self.transition(conversation_id=conversation_id, expected=current,
                        target=target, agent_id=agent_id, reason=reason)
        return current

    def queue(self, *, agent_id: int) -> dict[str, list[QueueEntry]]:
        """The waiting conversations (longest wait first) and those the agent holds."""
        waiting = self.session.scalars(
            select(Conversation).where(Conversation.state == State.WAITING)
            .order_by(Conversation.waiting_since, Conversation.id))
        mine = self.session.scalars(
            select(Conversation).where(Conversation.state == State.AGENT,
                                       Conversation.agent_id == agent_id)
            .order_by(Conversation.updated_at.desc()))
        return {"waiting": [entry(c) for c in waiting], "mine": [entry(c) for c in mine]}
    def bot_holds(self, conversation_id: str, *,
                  shopper: dict[str, str] | None = None) -> bool:
        """Whether the conversation exists, the bot holds it and ``shopper`` (when given)
        is already the one it speaks for: a shopper's turn then changes nothing in it."""
        row = self.session.execute(
            select(Conversation.state, Conversation.channel, Conversation.external_id)
            .where(Conversation.id == conversation_id)).one_or_none()
        return row is not None and row.state == State.BOT and (
            shopper is None
            or (row.channel, row.external_id) == (shopper["channel"], shopper["external_id"]))

    def state(self, conversation_id: str) -> State | None:
        return self.session.scalar(select(Conversation.state)
                                   .where(Conversation.id == conversation_id))

    def remind_once(self, conversation_id: str) -> bool:
        """Mark that the waiting shopper was told they are in the queue; True only the
        first time since they were queued."""
        reminded = self.session.execute(
            update(Conversation).where(Conversation.id == conversation_id,
                                       Conversation.queue_reminded.is_(False))
            .values(queue_reminded=True).execution_options(synchronize_session=False))
        return reminded.rowcount == 1

    def held_by(self, conversation_id: str, agent_id: int) -> bool:
        return self.session.scalar(select(Conversation.id).where(
            Conversation.id == conversation_id, Conversation.state == State.AGENT,
            Conversation.agent_id == agent_id)) is not None

    def shopper(self, conversation_id: str) -> dict[str, str]:
        """The shopper of an existing conversation, as bot metadata."""
        conversation = self.session.get(Conversation, conversation_id)
        assert conversation is not None
        return {"channel": conversation.channel, "external_id": conversation.external_id}

    def claim_timeouts(self, *, waited: timedelta) -> list[str]:
        """Mark the conversations waiting longer than ``waited`` whose shopper was not told
        yet; returns those this call marked (each replica tells only its own)."""
        now = utcnow()
        due = list(self.session.scalars(select(Conversation.id).where(
            Conversation.state == State.WAITING, Conversation.timeout_notified_at.is_(None),
            Conversation.waiting_since <= now - waited).limit(TIMEOUTS_PER_RUN)))
        mine = []
        for conversation_id in due:
            marked = self.session.execute(
                update(Conversation).where(Conversation.id == conversation_id,
                                           Conversation.state == State.WAITING,
                                           Conversation.timeout_notified_at.is_(None))
                .values(timeout_notified_at=now).execution_options(synchronize_session=False))
            if marked.rowcount == 1:
                mine.append(conversation_id)
        return mine
