"""Conversations of the chat gateway: who answers them (bot or agent), and their transcript.

The gateway owns these tables; they live in the shared metadata so one Alembic history
covers every table of the product.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from commerce_core.models.base import Base, TimestampMixin, UtcDateTime, text_enum, utcnow


class ConversationState(StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    AGENT = "agent"
    CLOSED = "closed"


class AgentRole(StrEnum):
    OWNER = "owner"
    """Runs the shop: the back office at ``/merchant``, and the agent console."""
    AGENT = "agent"
    """Answers handed-off conversations in the agent console only."""


class Agent(TimestampMixin, Base):
    """A person of the shop who signs in to the agent console (and, as owner, the back
    office)."""

    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[AgentRole] = mapped_column(text_enum(AgentRole, 16), default=AgentRole.AGENT,
                                            server_default=AgentRole.AGENT.value)


class AgentSession(Base):
    """A signed-in console; only the SHA-256 of its token is stored."""

    __tablename__ = "agent_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Conversation(TimestampMixin, Base):
    """One chat of one shopper on one channel; ``id`` is the gateway's conversation id."""

    __tablename__ = "conversation"
    __table_args__ = (Index("ix_conversation_identity", "channel", "external_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    state: Mapped[ConversationState] = mapped_column(
        text_enum(ConversationState, 16), default=ConversationState.BOT, index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    handoff_reason: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str | None] = mapped_column(String(500))
    waiting_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    queue_reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    """The shopper who wrote while waiting was told once that they are in the queue."""
    timeout_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the shopper was told that nobody is free and when the shop is staffed."""
    contact_email: Mapped[str | None] = mapped_column(String(254))
    """An address the shopper left while waiting, for the agent to write back."""
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the session secret of a web conversation, bound at its first turn; only
    its holder may write in it or read it (channels/web/ownership.py)."""


class ConversationEvent(Base):
    """One row per state change, written in the same transaction as the change."""

    __tablename__ = "conversation_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConversationMessage(Base):
    """A transcript row: one message as the shopper saw it (buttons, cards, link in payload)."""

    __tablename__ = "conversation_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ts: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BotTurn(Base):
    """One shopper message the bot answered, as the gateway measured it: how long the bot
    took (transcripts keep whole seconds only) and whether it understood the message."""

    __tablename__ = "bot_turn"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(1000))
    """The shopper's message (or the payload of the button they pressed)."""
    duration_ms: Mapped[int] = mapped_column(Integer)
    understood: Mapped[bool | None] = mapped_column(Boolean)
    """False: the bot fell back (``nlu_fallback`` or a core fallback); None: the bot did
    not say."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
