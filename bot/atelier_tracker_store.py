"""Rasa 3.6's Redis tracker store, with conversations that can be wiped.

``RedisTrackerStore.save`` merges the tracker it saves with the one stored, so
``PUT /conversations/<id>/tracker/events`` adds to a conversation's events and can never
remove one. The gateway replaces the events of a customer whose personal data is deleted
with an empty list (channels/erasure.py); here saving a tracker without events replaces the
stored one, as the default in-memory store does. Rasa's own turns never save an empty
tracker over a stored one: it creates an empty tracker only when none is stored.

Used by endpoints.compose.yml (``type: atelier_tracker_store.ErasableRedisTrackerStore``;
``rasa run`` imports it from the bot directory, its working directory).
"""

from __future__ import annotations

from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker


class ErasableRedisTrackerStore(RedisTrackerStore):
    async def save(self, tracker: DialogueStateTracker,
                   timeout: float | None = None) -> None:
        if tracker.events:
            await super().save(tracker, timeout)
            return
        await self.stream_events(tracker)
        self.red.set(self.key_prefix + tracker.sender_id, self.serialise_tracker(tracker),
                     ex=timeout or self.record_exp)
