"""Messages that reach a Telegram shopper outside their own turn: agent replies, notices.

In webhook mode the gateway's bot sends them (its button store then also answers the
buttons). In polling mode the worker is another process, so the gateway sends with a
bot object of its own; only ``getUpdates`` is exclusive to one poller, sending is not.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.error import TelegramError

from channels.chat import ChatService
from channels.config import GatewaySettings
from channels.delivery.outlet import OutboundFailed
from channels.identity import TELEGRAM_PREFIX
from channels.messages import ChatMessage
from channels.telegram.channel import TelegramChannel
from channels.telegram.webhook import TelegramWebhook

log = logging.getLogger(__name__)
Closer = Callable[[], Awaitable[None]]


async def _noop() -> None:
    return None


def start_telegram_outbound(settings: GatewaySettings, chat: ChatService,
                            webhook: TelegramWebhook | None) -> Closer:
    """Register the sender of ``tg-`` conversations on ``chat``; returns its closer."""
    if settings.telegram_token is None:
        return _noop
    if webhook is not None:
        channel = webhook.bot.channel
        own_bot: Bot | None = None
    else:
        own_bot = Bot(settings.telegram_token.get_secret_value(),
                      base_url=settings.telegram_api_url,
                      base_file_url=settings.telegram_file_url)
        channel = TelegramChannel(bot=own_bot, chat=chat, settings=settings)
    started = False

    async def send(conversation_id: str, messages: list[ChatMessage]) -> None:
        nonlocal started
        if own_bot is not None and not started:
            try:
                await own_bot.initialize()
                started = True
            except TelegramError as exc:  # sending may still work; it is tried below
                log.warning("telegram bot not initialised: %s", exc)
        if not await channel.deliver(conversation_id, messages):
            raise OutboundFailed("Telegram did not take every part of the message")

    chat.add_outbound(TELEGRAM_PREFIX, send)

    async def close() -> None:
        if own_bot is not None and started:
            await own_bot.shutdown()

    return close
