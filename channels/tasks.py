"""The gateway's periodic work, started by the app: relaying order news from the outbox,
answering messages that waited for the bot, wiping the bot trackers of deleted customers,
and telling shoppers nobody picked up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import partial

from channels.delivery.erasure import retry_wipes
from channels.delivery.notify import Notifier
from channels.delivery.outbox import OutboxRelay
from channels.deps import Gateway
from commerce_core.jobs import run_every


def start_gateway_jobs(gateway: Gateway) -> Callable[[], Awaitable[None]]:
    """Start the gateway's jobs; returns what stops them (the relay finishes the messages
    in hand first)."""
    settings = gateway.settings
    relay = OutboxRelay(factory=gateway.session_factory,
                        notifier=Notifier(outlet=gateway.outlet, routes=gateway.news_routes),
                        settings=settings)
    relay.start()
    every = settings.bot_retry_seconds
    tasks = [
        asyncio.create_task(run_every("answering messages waiting for the bot", every,
                                      gateway.chat.answer_waiting, wait_first=True)),
        asyncio.create_task(run_every("retrying tracker wipes", every,
                                      partial(retry_wipes, rasa=gateway.rasa,
                                              wipes=gateway.wipes), wait_first=True)),
        asyncio.create_task(run_every("checking waiting conversations",
                                      settings.handoff_check_seconds,
                                      gateway.desk.notify_timeouts))]

    async def stop() -> None:
        await relay.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return stop
