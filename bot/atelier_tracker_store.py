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

The SQL store also reads and writes a turn's events more cheaply than Rasa's (same rows,
same order, same conversation session): Rasa 3.6 builds an ORM object per event, loaded
or saved, and inserts the new events of a turn one statement each; here the rows are read
as their JSON alone and the new ones inserted in one ``executemany``, with the statements
built once.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Dict, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
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
    answer by keeping the turn in memory only. A commit does not wait for the disk
    (:func:`_sqlite_pragmas`). The connections stay open between turns:
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
        events = self.SQLEvent.__table__
        sender = events.c.sender_id == sa.bindparam("sender_id")
        session_start = sa.select(sa.func.max(events.c.timestamp).label("session_start")
                                  ).where(sender, events.c.type_name == SessionStarted.type_name
                                          ).subquery()
        # the events of the latest conversation session, as SQLTrackerStore._event_query
        latest = sa.and_(sender, sa.or_(events.c.timestamp >= session_start.c.session_start,
                                        session_start.c.session_start.is_(None)))
        self._all_sessions = sa.select(events.c.data).where(sender).order_by(events.c.id)
        self._latest_session = sa.select(events.c.data).where(latest).order_by(events.c.id)
        self._stored = sa.select(sa.func.count()).select_from(events).where(latest)
        self._insert = events.insert()

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool
                        ) -> Optional[DialogueStateTracker]:
        query = self._all_sessions if fetch_events_from_all_sessions else self._latest_session
        with self.session_scope() as session:
            rows = session.execute(query, {"sender_id": sender_id}).scalars().all()
        if not self.domain or not rows:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in rows],
                                              self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        if tracker.events:
            await self._append(tracker)
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            session.query(self.SQLEvent).filter(
                self.SQLEvent.sender_id == tracker.sender_id).delete(synchronize_session=False)
            session.commit()


    async def _append(self, tracker: DialogueStateTracker) -> None:
        """``SQLTrackerStore.save``: the events of the tracker's latest session that are
        not stored yet are added."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(self._stored, {"sender_id": tracker.sender_id}).scalar()
            rows = [_row(tracker.sender_id, event)
                    for event in itertools.islice(tracker.events, stored, None)]
            if rows:
                session.execute(self._insert, rows)
            session.commit()


def _row(sender_id: Text, event: Event) -> Dict[Text, Any]:
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL mode, and in it commits that do not wait for the disk (``synchronous=NORMAL``):
    the store holds conversations only, and a turn's save no longer waits for an fsync.
    A crash of Rasa or of its process loses nothing; a crash of the operating system or a
    power cut may lose the last turns saved, never corrupts the file (the app's commerce
    database keeps syncing each commit, see commerce_core/db.py)."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    if cursor.fetchone()[0] == "wal":  # NORMAL could corrupt a rollback journal
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
