"""All SQL of web conversations' ownership: the stored hash of a conversation's secret."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.handoff.state import identity_of
from commerce_core.models import Conversation, ConversationMessage
from commerce_core.models import ConversationState as State


class Owner(NamedTuple):
    """What proves a conversation is someone's: its secret's hash and its identity."""

    secret_hash: str | None
    channel: str
    external_id: str


class OwnershipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def owner(self, conversation_id: str) -> Owner | None:
        row = self.session.execute(
            select(Conversation.secret_hash, Conversation.channel, Conversation.external_id)
            .where(Conversation.id == conversation_id)).first()
        return Owner(*row) if row is not None else None

    def shopper_spoke(self, conversation_id: str) -> bool:
        return bool(self.session.scalar(select(exists().where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.role == "shopper"))))

    def bind(self, conversation_id: str, secret_hash: str) -> bool:
        """Bind the hash to an existing conversation that has none; True when this call
        bound it."""
        bound = self.session.execute(
            update(Conversation).where(Conversation.id == conversation_id,
                                       Conversation.secret_hash.is_(None))
            .values(secret_hash=secret_hash).execution_options(synchronize_session=False))
        return bound.rowcount == 1

    def create(self, conversation_id: str, secret_hash: str) -> bool:
        """Create the conversation's row bound to the hash; False when it exists already
        (created meanwhile by another turn or replica)."""
        channel, external_id = identity_of(conversation_id)
        try:
            with self.session.begin_nested():
                self.session.add(Conversation(id=conversation_id, channel=channel,
                                              external_id=external_id, state=State.BOT,
                                              secret_hash=secret_hash))
                self.session.flush()
        except IntegrityError:
            return False
        return True
