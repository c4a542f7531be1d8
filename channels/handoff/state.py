"""Who answers a conversation: the bot, the queue, an agent — and which moves between them
are allowed (:data:`ALLOWED`). The moves themselves are made, guarded, by
:meth:`channels.handoff.repository.ConversationRepository.transition`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.errors import GatewayError
from channels.identity import channel_of
from commerce_core.models import Conversation
from commerce_core.models import ConversationState as State

REASONS = {"shopper_request", "repeated_failure", "frustrated", "faq_unanswered", "damaged",
           "agent"}
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


def check_move(current: State, target: State) -> None:
    if (current, target) not in ALLOWED:
        raise TransitionError("transition_not_allowed",
                              f"A conversation cannot go from {current.value} to {target.value}.")


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
