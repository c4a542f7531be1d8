"""The bot's turns as the gateway measured them (``bot_turn``): how long the bot took to
answer each shopper message, in milliseconds, and whether it understood it. The back
office's analytics read them (misunderstood messages per day, the slowest turns)."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.handoff.repository import ConversationRepository
from commerce_core.models import BotTurn

log = logging.getLogger(__name__)
MAX_TEXT = 1000


class TurnLog:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def _store(self, conversation_id: str, text: str, duration_ms: int,
               understood: bool | None) -> None:
        with self.session_factory() as session:
            conversation = ConversationRepository(session).ensure(
                conversation_id=conversation_id)
            session.add(BotTurn(conversation_id=conversation_id, channel=conversation.channel,
                                text=text.replace("\x00", "\ufffd")[:MAX_TEXT],
                                duration_ms=duration_ms, understood=understood))
            session.commit()

    async def record(self, conversation_id: str, *, text: str, seconds: float,
                     understood: bool | None) -> None:
        """Keep one answered turn; a database problem is logged, never raised (the
        shopper's answer matters more than the figure)."""
        try:
            await run_in_threadpool(self._store, conversation_id, text,
                                    max(0, round(seconds * 1000)), understood)
        except SQLAlchemyError:
            log.exception("bot turn not recorded", extra={"conversation_id": conversation_id})
