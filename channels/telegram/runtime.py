"""The python-telegram-bot application, in polling or webhook mode, on the same handlers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Literal

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, BaseUpdateProcessor

from channels.chat import ChatService
from channels.config import GatewaySettings
from channels.limits import RateLimiter
from channels.telegram.channel import ALLOWED_UPDATES, COMMANDS, TelegramChannel

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
MAX_CONCURRENT_UPDATES = 64


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat one after the other.

    One slow turn must not hold up every other shopper, but a shopper's second message
    must not be answered, or its answer shown, before the first one's.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._locks.get(chat.id, (asyncio.Lock(), 0))
        self._locks[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[chat.id]
            if users == 1:
                del self._locks[chat.id]
            else:
                self._locks[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def webhook_url(settings: GatewaySettings) -> str:
    return settings.telegram_webhook_url or settings.public_url.rstrip("/") + WEBHOOK_PATH


class TelegramBot:
    """The bot's application and channel. ``mode`` is how updates arrive:

    - ``polling``: the application's updater asks Telegram (``getUpdates``) — the worker;
    - ``webhook``: no updater; the gateway's route feeds ``application.update_queue``.
    """

    def __init__(self, settings: GatewaySettings, chat: ChatService, *,
                 mode: Literal["polling", "webhook"], limiter: RateLimiter | None = None
                 ) -> None:
        if settings.telegram_token is None:
            raise ValueError("ATELIER_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.mode = mode
        builder = (Application.builder()
                   .token(settings.telegram_token.get_secret_value())
                   .base_url(settings.telegram_api_url)
                   .base_file_url(settings.telegram_file_url)
                   .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES)))
        if mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        self.channel = TelegramChannel(bot=self.application.bot, chat=chat, settings=settings,
                                       limiter=limiter)
        self.channel.register(self.application)
        self.running = False

    async def start(self, *, poll_timeout: int = 30) -> None:
        """Connect (``getMe``), then poll or register the webhook, then process updates."""
        await self.application.initialize()
        try:
            await self.application.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:
            log.warning("could not set the bot's command menu: %s", exc)
        if self.mode == "polling":
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES, bootstrap_retries=5)
        else:
            await self._set_webhook()
        await self.application.start()
        self.running = True
        log.info("telegram bot @%s is up (%s)", self.application.bot.username, self.mode)

    async def _set_webhook(self) -> None:
        secret = self.settings.telegram_webhook_secret
        assert secret is not None  # GatewaySettings requires it in webhook mode
        url = webhook_url(self.settings)
        try:
            await self.channel.retry.call("setWebhook", lambda: self.application.bot.set_webhook(
                url, secret_token=secret.get_secret_value(), allowed_updates=ALLOWED_UPDATES))
        except TelegramError as exc:
            # e.g. not HTTPS: updates cannot arrive until it is fixed; the gateway keeps
            # serving the widget, and a webhook registered by hand keeps working.
            log.error("telegram refused the webhook %s: %s", url, exc)

    async def stop(self) -> None:
        """Stop taking updates, finish those in hand, close the connections.

        The webhook stays registered: other gateway replicas still serve it.
        """
        if self.running:
            if self.application.updater is not None and self.application.updater.running:
                await self.application.updater.stop()
            await self.application.stop()
            self.running = False
        await self.application.shutdown()

    async def feed(self, update_data: dict[str, Any]) -> None:
        """Queue one update received by the webhook; raises ValueError if it is malformed."""
        try:
            update = Update.de_json(update_data, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a Telegram update: {exc}") from exc
        await self.application.update_queue.put(update)
