"""One way to run periodic work: every job of the app goes through :func:`run_every`."""

from __future__ import annotations

import asyncio
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

STOP_GRACE_SECONDS = 5.0
"""How long :func:`stop_task` waits for a cancelled task before cancelling it again."""


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
    app's lifetime. Cancellation is never swallowed. The task running this is given
    ``name``, which logs about it (:func:`stop_task`) show.

    Args:
        name: what the job does, for the log.
        every: seconds between the end of one run and the start of the next.
        job: one run; it logs what it did itself.
        wait_first: wait ``every`` before the first run instead of running at once.
    """
    task = asyncio.current_task()
    if task is not None:
        task.set_name(name)
    if wait_first:
        await asyncio.sleep(every)
    while True:
        try:
            await job()
        except Exception:
            raise_if_cancel_lost()  # a cancellation a library turned into its own error
            log.error("%s failed; retrying in %.0f s", name, every, exc_info=True)
        raise_if_cancel_lost()
        await asyncio.sleep(every)


def raise_if_cancel_lost() -> None:
    """Raise :class:`asyncio.CancelledError` if the current task was asked to stop but the
    cancellation never reached it: a client library caught it mid-call and returned, or
    raised its own error instead (Redis and HTTP client libraries have had such bugs, for a
    cancellation landing while they open or close a connection). The request is still
    counted by :meth:`asyncio.Task.cancelling`; without this check a loop would go on for
    ever and keep the app's shutdown waiting."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_task(task: asyncio.Task[Any], what: str, *,
                    grace: float = STOP_GRACE_SECONDS) -> None:
    """Cancel ``task`` and wait until it has ended; an error it ended with is raised.

    A task still running ``grace`` seconds after its cancellation (something in it lost
    the cancellation, see :func:`raise_if_cancel_lost`) is logged at error level and
    cancelled again, so that a shutdown cannot wait for ever on it.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
        if not task.done():
            log.error("%s did not stop when cancelled; cancelling it again", what)
    if not task.cancelled():
        task.result()


def start_all(*loops: Coroutine[Any, Any, None]) -> Stop:
    """Run each of ``loops`` (:func:`run_every` calls) as a task; returns what cancels them
    and waits until they have stopped."""
    tasks = [asyncio.create_task(loop) for loop in loops]

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            await stop_task(task, task.get_name())

    return stop
