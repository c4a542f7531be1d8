"""One way to run periodic work: every job of the app goes through :func:`run_every`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from commerce_core import clock

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
Stop = Callable[[], Awaitable[None]]


class Sweep(Protocol):
    def __call__(self, *, session: Session, now: datetime) -> int: ...


async def sweep(factory: sessionmaker[Session], work: Sweep) -> int:
    """One run of a domain's periodic clean-up: ``work`` in its own transaction, in the
    thread pool (it does blocking SQL); returns how many rows it handled."""
    def run_once() -> int:
        with factory() as session:
            count = work(session=session, now=clock.now())
            session.commit()
            return count

    return await run_in_threadpool(run_once)


async def run_every(name: str, every: float, job: Job, *, wait_first: bool = False) -> None:
    """Run ``job`` every ``every`` seconds until the task running this is cancelled.

    A run that raises is logged at error level with its traceback and the next run comes
    as usual, so one failure (a database or Redis outage) does not stop the job for the
    app's lifetime. Cancellation is never swallowed.

    Args:
        name: what the job does, for the log.
        every: seconds between the end of one run and the start of the next.
        job: one run; it logs what it did itself.
        wait_first: wait ``every`` before the first run instead of running at once.
    """
    if wait_first:
        await asyncio.sleep(every)
    while True:
        try:
            await job()
        except Exception:
            log.error("%s failed; retrying in %.0f s", name, every, exc_info=True)
        await asyncio.sleep(every)


def start_all(*loops: Coroutine[Any, Any, None]) -> Stop:
    """Run each of ``loops`` (:func:`run_every` calls) as a task; returns what cancels them
    and waits until they have stopped."""
    tasks = [asyncio.create_task(loop) for loop in loops]

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return stop
