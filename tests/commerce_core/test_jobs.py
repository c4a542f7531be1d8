"""The one helper every periodic job of the app runs through."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import pytest

from commerce_core.jobs import run_every, start_all, stop_task

GUARD = 10.0  # seconds before a hung test fails instead of blocking the suite


def test_the_job_runs_again_and_again() -> None:
    async def run() -> int:
        runs = 0
        third = asyncio.Event()

        async def job() -> None:
            nonlocal runs
            runs += 1
            if runs == 3:
                third.set()

        task = asyncio.create_task(run_every("counting", 0, job))
        await asyncio.wait_for(third.wait(), GUARD)
        task.cancel()
        return runs

    assert asyncio.run(run()) >= 3


def test_a_failing_run_is_logged_with_its_traceback_and_the_job_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> int:
        runs = 0
        second = asyncio.Event()

        async def job() -> None:
            nonlocal runs
            runs += 1
            if runs == 1:
                raise RuntimeError("the database is away")
            second.set()

        task = asyncio.create_task(run_every("checking things", 0, job))
        await asyncio.wait_for(second.wait(), GUARD)
        task.cancel()
        return runs

    with caplog.at_level(logging.ERROR, logger="commerce_core.jobs"):
        assert asyncio.run(run()) >= 2
    failed = [r for r in caplog.records if r.name == "commerce_core.jobs"]
    assert len(failed) == 1
    assert failed[0].levelno == logging.ERROR
    assert "checking things failed" in failed[0].getMessage()
    assert failed[0].exc_info is not None
    assert isinstance(failed[0].exc_info[1], RuntimeError)


def test_cancelling_stops_the_job_and_is_not_swallowed() -> None:
    async def run() -> tuple[bool, int, int]:
        runs = 0
        started = asyncio.Event()

        async def job() -> None:
            nonlocal runs
            runs += 1
            started.set()

        task = asyncio.create_task(run_every("counting", 0, job))
        await asyncio.wait_for(started.wait(), GUARD)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        at_cancel = runs
        for _ in range(20):
            await asyncio.sleep(0)
        return task.cancelled(), at_cancel, runs

    cancelled, at_cancel, later = asyncio.run(run())
    assert cancelled
    assert later == at_cancel


def test_cancelling_a_running_job_stops_it_too() -> None:
    async def run() -> bool:
        inside = asyncio.Event()
        finished = False

        async def job() -> None:
            nonlocal finished
            inside.set()
            await asyncio.Event().wait()  # never set: the job is still running
            finished = True

        task = asyncio.create_task(run_every("hanging", 0, job))
        await asyncio.wait_for(inside.wait(), GUARD)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return finished

    assert asyncio.run(run()) is False


def test_waiting_first_runs_nothing_before_the_first_period() -> None:
    async def run() -> int:
        runs = 0

        async def job() -> None:
            nonlocal runs
            runs += 1

        task = asyncio.create_task(run_every("later", 3600, job, wait_first=True))
        for _ in range(20):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return runs

    assert asyncio.run(run()) == 0


def test_stopping_started_jobs_cancels_each_and_waits_for_it() -> None:
    async def run() -> tuple[list[str], int]:
        started: list[str] = []
        stopped: list[str] = []

        def job(name: str) -> Callable[[], Awaitable[None]]:
            async def once() -> None:
                if name not in started:
                    started.append(name)
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    stopped.append(name)
                    raise
            return once

        stop = start_all(run_every("a", 0, job("a")), run_every("b", 0, job("b")))
        for _ in range(20):
            await asyncio.sleep(0)
        await asyncio.wait_for(stop(), GUARD)
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return sorted(stopped), len(running)

    assert asyncio.run(run()) == (["a", "b"], 0)


async def _returning(reached: asyncio.Event) -> None:
    """A run whose client library loses the cancellation: it catches the CancelledError
    delivered mid-call and returns as if the call had finished."""
    reached.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)


async def _raising_its_own_error(reached: asyncio.Event) -> None:
    """The same, where the library raises its own error instead (a lost connection)."""
    reached.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise ConnectionError("connection closed while reading") from None


@pytest.mark.parametrize("lose", [_returning, _raising_its_own_error],
                         ids=["returned", "raised-its-own-error"])
def test_a_cancellation_lost_inside_a_run_still_stops_the_job(
        lose: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    async def run() -> tuple[bool, int]:
        runs = 0
        reached = asyncio.Event()

        async def job() -> None:
            nonlocal runs
            runs += 1
            if runs == 1:
                await lose(reached)
            else:  # had the loop gone on, later runs let the test end
                await asyncio.sleep(3600)

        task = asyncio.create_task(run_every("losing the cancel", 0, job))
        await asyncio.wait_for(reached.wait(), GUARD)
        task.cancel()
        await asyncio.wait({task}, timeout=GUARD)
        return task.cancelled(), runs

    assert asyncio.run(run()) == (True, 1)


def test_stopping_a_task_that_lost_its_cancellation_cancels_it_again(
        caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> tuple[bool, int]:
        reached = asyncio.Event()
        cancels = 0

        async def stubborn() -> None:
            nonlocal cancels
            reached.set()
            while True:  # a loop of its own, not run_every: it never checks
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    cancels += 1
                    if cancels > 1:
                        raise

        task = asyncio.create_task(stubborn())
        await asyncio.wait_for(reached.wait(), GUARD)
        await asyncio.wait_for(stop_task(task, "the stubborn task", grace=0.05), GUARD)
        return task.cancelled(), cancels

    with caplog.at_level(logging.ERROR, logger="commerce_core.jobs"):
        assert asyncio.run(run()) == (True, 2)
    assert [r.getMessage() for r in caplog.records if r.name == "commerce_core.jobs"] == [
        "the stubborn task did not stop when cancelled; cancelling it again"]


def test_stopping_a_task_raises_the_error_it_ended_with() -> None:
    async def run() -> None:
        async def failing() -> None:
            raise RuntimeError("broken")

        task = asyncio.create_task(failing())
        await asyncio.wait({task})
        await stop_task(task, "the failing task")

    with pytest.raises(RuntimeError, match="broken"):
        asyncio.run(run())


def test_stopped_jobs_are_named_after_what_they_do() -> None:
    async def run() -> list[str]:
        async def job() -> None:
            await asyncio.sleep(3600)

        stop = start_all(run_every("relaying news", 0, job))
        await asyncio.sleep(0)
        names = sorted(t.get_name() for t in asyncio.all_tasks()
                       if t is not asyncio.current_task())
        await asyncio.wait_for(stop(), GUARD)
        return names

    assert asyncio.run(run()) == ["relaying news"]
