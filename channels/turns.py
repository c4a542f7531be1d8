"""The bot's turns as the gateway measured them (``bot_turn``): how long the bot took to
answer each shopper message, in milliseconds, and whether it understood it. The back
office's analytics read them (misunderstood messages per day, the slowest turns).

With the SQL transcript (:class:`~channels.delivery.transcripts.TranscriptHistory`) a
turn's row is written in the same transaction as the bot's answers, not in one of its own:
every transaction takes SQLite's write lock, which all shoppers wait for. A turn written
on its own is a conversation record as the transcript's rows are
(:func:`~commerce_core.db.begin_conversation_write`): on SQLite its commit does not wait
for the disk."""

from __future__ import annotations

import logging
from functools import partial

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.delivery.transcripts import Rider, TranscriptHistory
from channels.handoff.repository import ConversationRepository
from commerce_core.db import begin_conversation_write
from commerce_core.models import BotTurn

log = logging.getLogger(__name__)
MAX_TEXT = 1000


def add_turn(session: Session, *, conversation_id: str, channel: str, text: str,
             duration_ms: int, understood: bool | None) -> None:
    """Add a turn's row; the conversation's row must exist (the transcript row it rides
    with, or :meth:`TurnLog._store`, makes sure of it)."""
    session.add(BotTurn(conversation_id=conversation_id, channel=channel,
                        text=text.replace("\x00", "\ufffd")[:MAX_TEXT],
                        duration_ms=duration_ms, understood=understood))


class TurnLog:
    """Keeps turns; ``transcript`` (when given) writes each with the conversation's next
    transcript row, and :meth:`settle` writes one that no row took."""

    def __init__(self, session_factory: sessionmaker[Session], *,
                 transcript: TranscriptHistory | None = None) -> None:
        self.session_factory = session_factory
        self.transcript = transcript

    def _store(self, conversation_id: str, riders: list[Rider]) -> None:
        with self.session_factory() as session:
            begin_conversation_write(session)
            ConversationRepository(session).ensure(conversation_id=conversation_id)
            for rider in riders:
                rider(session)
            session.commit()

    async def _write(self, conversation_id: str, riders: list[Rider]) -> None:
        """Write turns on their own; a database problem is logged, never raised (the
        shopper's answer matters more than the figure)."""
        try:
            await run_in_threadpool(self._store, conversation_id, riders)
        except SQLAlchemyError:
            log.exception("bot turn not recorded", extra={"conversation_id": conversation_id})

    async def record(self, conversation_id: str, channel: str, *, text: str, seconds: float,
                     understood: bool | None) -> None:
        """Keep one answered turn of a conversation of ``channel`` (the shopper's, which
        the help desk keeps on the conversation's row): with the bot's answers when there
        is a transcript (the caller then calls :meth:`settle` once the answers are
        recorded), else now."""
        rider = partial(add_turn, conversation_id=conversation_id, channel=channel, text=text,
                        duration_ms=max(0, round(seconds * 1000)), understood=understood)
        if self.transcript is not None:
            self.transcript.ride(conversation_id, rider)
        else:
            await self._write(conversation_id, [rider])

    async def settle(self, conversation_id: str) -> None:
        """Write the conversation's turns that no transcript row took (the answers were
        not recorded, or their transcript row could not be written)."""
        if self.transcript is not None and (riders := self.transcript.unridden(
                conversation_id)):
            await self._write(conversation_id, riders)
