"""The gateway's periodic work, started by the app: relaying order news from the outbox,
answering messages that waited for the bot, wiping the bot trackers of deleted customers,
and telling shoppers nobody picked up."""

from __future__ import annotations

from functools import partial

from channels.delivery.erasure import retry_wipes
from channels.delivery.notify import Notifier
from channels.delivery.outbox import OutboxRelay
from channels.deps import Gateway
from commerce_core.jobs import Stop, run_every, start_all


def start_gateway_jobs(gateway: Gateway) -> Stop:
    """Start the gateway's jobs; returns what stops them (the relay finishes the messages
    in hand first)."""
    settings = gateway.settings
    relay = OutboxRelay(factory=gateway.session_factory,
                        notifier=Notifier(outlet=gateway.outlet, routes=gateway.news_routes),
                        settings=settings)
    relay.start()
    every = settings.bot_retry_seconds
    stop_loops = start_all(
        run_every("answering messages waiting for the bot", every,
                  gateway.chat.answer_waiting, wait_first=True),
        run_every("retrying tracker wipes", every,
                  partial(retry_wipes, rasa=gateway.rasa, wipes=gateway.wipes), wait_first=True),
        run_every("checking waiting conversations", settings.handoff_check_seconds,
                  gateway.desk.notify_timeouts))

    async def stop() -> None:
        await relay.stop()
        await stop_loops()

    return stop
