"""The queues' state, read from the database when Prometheus scrapes: every gateway
replica reports the same truth and nothing has to be kept in step."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models.base import utcnow
from commerce_core.models.conversation import Conversation, ConversationState
from commerce_core.models.outbox import OutboxMessage

log = logging.getLogger(__name__)


class QueueCollector(Collector):
    """Reads the queues from the database at each scrape."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self._factory() as session:
                waiting, oldest = session.execute(
                    select(func.count(), func.min(Conversation.waiting_since))
                    .where(Conversation.state == ConversationState.WAITING)).one()
                backlog = session.scalar(select(func.count()).select_from(OutboxMessage)
                                         .where(OutboxMessage.delivered_at.is_(None))) or 0
        except SQLAlchemyError as exc:  # the other metrics still tell what happens
            log.warning("queue metrics not read: %s", exc)
            return
        yield GaugeMetricFamily("atelier_handoff_queue_length",
                                "Conversations waiting for a person", value=waiting)
        yield GaugeMetricFamily("atelier_handoff_oldest_wait_seconds",
                                "How long the longest-waiting shopper has waited for a person",
                                value=_age(oldest))
        yield GaugeMetricFamily("atelier_outbox_backlog",
                                "Shop notices (paid, shipped…) not yet delivered to shoppers",
                                value=backlog)


def _age(since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (utcnow() - since).total_seconds())


_collectors: dict[int, QueueCollector] = {}


def watch_queues(factory: sessionmaker[Session]) -> Callable[[], None]:
    """Report the queues of ``factory``'s database; returns the function that stops it.

    One process reports one database: a later call replaces the earlier collector (an app
    made again in the same process, as the tests do)."""
    for old in list(_collectors.values()):
        REGISTRY.unregister(old)
    _collectors.clear()
    collector = QueueCollector(factory)
    REGISTRY.register(collector)
    _collectors[id(collector)] = collector

    def stop() -> None:
        if _collectors.pop(id(collector), None) is not None:
            REGISTRY.unregister(collector)
    return stop
