"""The Telegram worker in polling mode: ``python -m channels.telegram``.

It asks Telegram for updates (no public address needed, so it suits development) and
answers them through its own ``ChatService``, sharing history with the gateway when
``ATELIER_REDIS_URL`` is set. Run exactly one per bot token: Telegram serves updates to
one poller only. In webhook mode the gateway receives the updates and this worker is
not needed.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from functools import partial
from pathlib import Path

from channels.config import GatewaySettings, get_settings
from channels.delivery.history import History, MemoryHistory, RedisHistory
from channels.delivery.transcripts import TranscriptHistory
from channels.deps import Gateway
from channels.identity import TELEGRAM_PREFIX
from channels.rasa_client import make_rasa_client
from channels.telegram.runtime import TelegramBot
from commerce_core.db import get_sessionmaker
from commerce_core.jobs import run_every, stop_task

log = logging.getLogger("channels.telegram")
HEARTBEAT_SECONDS = 10.0


def _history(settings: GatewaySettings) -> History:
    if settings.redis_url:
        return RedisHistory(settings.redis_url, settings.redis_prefix, settings.history_limit)
    return MemoryHistory(settings.history_limit)


async def _heartbeat(bot: TelegramBot, path: Path) -> None:
    """Touch ``path`` if the bot polls, for a health check reading its age."""
    updater = bot.application.updater
    if bot.running and updater is not None and updater.running:
        path.touch()


async def run_polling(settings: GatewaySettings) -> None:
    """Poll until SIGINT or SIGTERM, then finish the updates in hand and close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    rasa = make_rasa_client(settings)
    factory = get_sessionmaker()  # conversation states and transcripts, shared with the app
    history = TranscriptHistory(_history(settings), factory)
    # the gateway's bus (its sockets and agent consoles see this worker's messages), its
    # store of messages waiting for the bot and its rate limits
    gateway = await Gateway.open(settings, factory=factory, rasa=rasa, history=history)
    chat = gateway.chat
    bot = TelegramBot(settings, chat, mode="polling", limiter=gateway.limiter)
    chat.add_outbound(TELEGRAM_PREFIX, bot.channel.deliver)  # late answers, notices
    retry = asyncio.create_task(run_every("answering messages waiting for the bot",
                                          settings.bot_retry_seconds, chat.answer_waiting,
                                          wait_first=True))
    heartbeat: asyncio.Task[None] | None = None
    try:
        await bot.start()
        if settings.telegram_heartbeat_file:
            heartbeat = asyncio.create_task(run_every(
                "touching the heartbeat file", HEARTBEAT_SECONDS,
                partial(_heartbeat, bot, Path(settings.telegram_heartbeat_file))))
        await stop.wait()
        log.info("stopping the telegram worker")
    finally:
        if heartbeat is not None:
            await stop_task(heartbeat, "touching the heartbeat file")
        await stop_task(retry, "answering messages waiting for the bot")
        await bot.stop()
        await gateway.aclose()
        await rasa.aclose()
        await history.aclose()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per getUpdates otherwise
    settings = get_settings()
    if settings.telegram_token is None:
        log.error("ATELIER_TELEGRAM_TOKEN is not set: create a bot with @BotFather and set it")
        return 2
    if settings.telegram_mode != "polling":
        log.error("ATELIER_TELEGRAM_MODE is %r: in webhook mode the gateway receives the "
                  "updates at /telegram/webhook and this worker is not needed",
                  settings.telegram_mode)
        return 2
    asyncio.run(run_polling(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
