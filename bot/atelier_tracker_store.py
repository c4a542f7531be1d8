"""Rasa 3.6's Redis and SQL tracker stores, with conversations that can be wiped.

Both stores add to what they hold: ``RedisTrackerStore.save`` merges the tracker it saves
with the one stored, ``SQLTrackerStore.save`` appends the events it does not hold yet. So
``PUT /conversations/<id>/tracker/events`` adds to a conversation's events and can never
remove one. The gateway replaces the events of a customer whose personal data is deleted
with an empty list (channels/erasure.py); here saving a tracker without events replaces the
stored one, as the in-memory store does. Rasa's own turns never save an empty tracker over
a stored one: it creates an empty tracker only when none is stored.

``rasa run`` imports this module from the bot directory (its working directory, or
PYTHONPATH): endpoints.yml (the default run: SQLite in the data directory, so a restart of
Rasa keeps every conversation where it was) uses ``atelier_tracker_store.ErasableSQLTrackerStore``,
endpoints.compose.yml ``atelier_tracker_store.ErasableRedisTrackerStore``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool


class ErasableRedisTrackerStore(RedisTrackerStore):
    async def save(self, tracker: DialogueStateTracker,
                   timeout: float | None = None) -> None:
        if tracker.events:
            await super().save(tracker, timeout)
            return
        await self.stream_events(tracker)
        self.red.set(self.key_prefix + tracker.sender_id, self.serialise_tracker(tracker),
                     ex=timeout or self.record_exp)


class ErasableSQLTrackerStore(SQLTrackerStore):
    """On SQLite, several Rasa processes (``make run``'s ``ATELIER_RASA_PROCESSES``) share
    the file: in WAL mode a turn read by one does not wait for another's write, and a
    write waits for the other's (up to 30 s) instead of failing at once, which Rasa would
    answer by keeping the turn in memory only. The connections stay open between turns:
    SQLAlchemy 1.4 opens a new one per session on an SQLite file, and closing the last one
    writes the whole log back into the file, several times a turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=2,
                                           max_overflow=8, connect_args={
                                               "timeout": 30, "check_same_thread": False})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if tracker.events:
            await super().save(tracker)
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            session.query(self.SQLEvent).filter(
                self.SQLEvent.sender_id == tracker.sender_id).delete(synchronize_session=False)
            session.commit()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
