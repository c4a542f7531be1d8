"""The relay of the outbox: order news that the commerce core wrote in the transaction of
the change, posted in the shoppers' conversations by whichever gateway replica claims them.

A message reaches the shopper even when the process died between the commit and the
post, or when the commerce API runs as another process: the relay reads the table every
``outbox_poll_seconds``, and a change committed in this process wakes it at once (its
after-commit event), so the default single-process run still tells the shopper at once.

Each message is claimed with a lease (:meth:`OutboxRepository.claim`): of several
replicas, one delivers it while the lease holds, and one stream (an order) is delivered
in order. A failed attempt is retried with exponential backoff until
``outbox_max_attempts``, then given up and logged. Delivery is at least once: a replica
that dies after posting and before marking the message delivered posts it again once its
lease has run out. The conversations already told are kept on the message, so a retry
after a partial failure tells only the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from channels.config import GatewaySettings
from channels.delivery.notify import KINDS, Notifier
from commerce_core.events import DomainEvent, subscribe
from commerce_core.jobs import stop_task
from commerce_core.models.base import utcnow
from commerce_core.outbox.repository import OutboxRepository

log = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class Claimed:
    """A message this relay holds until ``lease``."""

    id: int
    kind: str
    data: dict[str, Any]
    delivered_to: list[str]
    attempts: int
    lease: datetime


class OutboxRelay:
    def __init__(self, *, factory: sessionmaker[Session], notifier: Notifier,
                 settings: GatewaySettings) -> None:
        self.factory = factory
        self.notifier = notifier
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._pruned_at = float("-inf")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = [subscribe(kind, self._on_commit) for kind in KINDS]
        self._task = asyncio.create_task(self.run())

    async def stop(self, timeout: float = 10.0) -> None:
        """Claim nothing more, and let the messages in hand be delivered (a graceful
        shutdown); what is still unsettled after ``timeout`` goes to the next relay once
        its lease has run out."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        await asyncio.wait({self._task}, timeout=timeout)
        await stop_task(self._task, "the outbox relay")

    def _on_commit(self, _event: DomainEvent) -> None:
        # Called after commit, often in a worker thread of a synchronous route.
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Deliver due messages until stopped: at once while some were due, then after a
        wake-up or ``outbox_poll_seconds``."""
        poll = self.settings.outbox_poll_seconds
        while not self._stopping:
            self._wake.clear()
            try:
                claimed = await self.run_once()
                if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
                    await run_in_threadpool(self._prune)
            except SQLAlchemyError:
                log.exception("reading the outbox failed; retrying in %.0f s", poll)
                claimed = 0
            if claimed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll)

    async def run_once(self) -> int:
        """Claim the due messages and deliver them; returns how many were claimed.

        A claim holds at most one message per stream, so they are delivered together
        without breaking the order of any stream.
        """
        claimed = await run_in_threadpool(self._claim)
        await asyncio.gather(*(self._deliver(message) for message in claimed))
        return len(claimed)

    def _claim(self) -> list[Claimed]:
        settings = self.settings
        now = utcnow()
        lease = now + timedelta(seconds=settings.outbox_lease_seconds)
        with self.factory() as session:
            rows = OutboxRepository(session).claim(
                kinds=KINDS, now=now, until=lease, max_attempts=settings.outbox_max_attempts,
                limit=settings.outbox_batch_size)
            claimed = [Claimed(id=r.id, kind=r.kind, data=r.data,
                               delivered_to=list(r.delivered_to), attempts=r.attempts,
                               lease=lease) for r in rows]
            session.commit()
        return claimed

    async def _deliver(self, message: Claimed) -> None:
        try:
            told = await self.notifier.deliver(DomainEvent(message.kind, message.data),
                                               told=message.delivered_to)
        except Exception as exc:  # recorded on the message and retried; the relay goes on
            log.warning("proactive message %s for order %s failed: %s", message.kind,
                        message.data.get("number"), exc, exc_info=True)
            delivered_to, error = message.delivered_to, f"{type(exc).__name__}: {exc}"
        else:
            delivered_to, error = message.delivered_to + told.conversations, told.error
        try:
            await run_in_threadpool(self._settle, message, delivered_to, error)
        except SQLAlchemyError:
            log.exception("outbox message %d not settled; it is tried again after its lease",
                          message.id)

    def _settle(self, message: Claimed, delivered_to: list[str], error: str | None) -> None:
        settings = self.settings
        now = utcnow()
        wait = min(settings.outbox_retry_backoff_seconds * 2 ** (message.attempts - 1),
                   settings.outbox_max_backoff_seconds)
        with self.factory() as session:
            repo = OutboxRepository(session)
            if error is None:
                kept = repo.delivered(message.id, lease=message.lease, now=now,
                                      delivered_to=delivered_to)
            else:
                kept = repo.retry_later(message.id, lease=message.lease,
                                        not_before=now + timedelta(seconds=wait),
                                        delivered_to=delivered_to, error=error)
            session.commit()
        number = message.data.get("number")
        if not kept:
            log.warning("the lease of outbox message %d (%s, order %s) ran out while it was "
                        "delivered; another relay may post it again", message.id,
                        message.kind, number)
        elif error is not None and message.attempts >= settings.outbox_max_attempts:
            log.error("proactive message %s for order %s given up after %d attempts: %s",
                      message.kind, number, message.attempts, error)
        elif error is not None:
            log.info("proactive message %s for order %s: attempt %d of %d failed, next in "
                     "%.1f s", message.kind, number, message.attempts,
                     settings.outbox_max_attempts, wait)

    def _prune(self) -> None:
        before = utcnow() - timedelta(days=self.settings.outbox_keep_days)
        with self.factory() as session:
            count = OutboxRepository(session).prune(delivered_before=before)
            session.commit()
        self._pruned_at = time.monotonic()
        if count:
            log.info("deleted %d delivered outbox messages", count)
