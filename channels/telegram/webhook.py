"""Webhook mode: Telegram posts updates to the gateway at ``POST /telegram/webhook``.

The gateway's lifespan starts the bot with :func:`start_telegram_webhook` (it does
nothing unless ``ATELIER_TELEGRAM_MODE=webhook`` and a token are set) and stops it with
:func:`stop_telegram_webhook`; the route answers 404 while the bot is off.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from telegram.error import BadRequest, NetworkError, TelegramError

from channels.chat import ChatService
from channels.config import GatewaySettings
from channels.limits import RateLimiter
from channels.telegram.runtime import WEBHOOK_PATH, TelegramBot
from commerce_core.errors import error_body, error_response, error_responses
from commerce_core.jobs import stop_task

log = logging.getLogger(__name__)
router = APIRouter()
MAX_UPDATE_BYTES = 256 * 1024
START_RETRY_MAX_SECONDS = 60.0


class TelegramWebhook:
    """The webhook-mode bot of one gateway process, started in the background.

    If Telegram cannot be reached at start-up, the gateway still starts: the bot keeps
    trying, and until it is up the route answers 503, which Telegram retries later.
    """

    def __init__(self, settings: GatewaySettings, chat: ChatService, *,
                 limiter: RateLimiter | None = None) -> None:
        assert settings.telegram_webhook_secret is not None  # required by GatewaySettings
        self._secret = settings.telegram_webhook_secret.get_secret_value().encode()
        self.bot = TelegramBot(settings, chat, mode="webhook", limiter=limiter)
        self._starting: asyncio.Task[None] | None = None

    def accepts(self, secret: str | None) -> bool:
        return secret is not None and hmac.compare_digest(secret.encode(), self._secret)

    def start(self) -> None:
        self._starting = asyncio.create_task(self._start())

    async def _start(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.bot.start()
                return
            except NetworkError as exc:
                if isinstance(exc, BadRequest):
                    log.error("telegram bot cannot start (%s); Telegram stays off", exc)
                    return
                log.warning("telegram unreachable at start-up (%s); retrying in %.0f s",
                            exc, delay)
            except TelegramError as exc:  # e.g. InvalidToken: waiting will not help
                log.error("telegram bot cannot start (%s); Telegram stays off", exc)
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, START_RETRY_MAX_SECONDS)

    async def stop(self) -> None:
        if self._starting is not None:
            await stop_task(self._starting, "the telegram bot's start-up")
        await self.bot.stop()


async def start_telegram_webhook(settings: GatewaySettings, chat: ChatService, *,
                                 limiter: RateLimiter | None = None) -> TelegramWebhook | None:
    """``limiter``: the gateway's rate limits (the widget's), so that replicas share them."""
    if settings.telegram_token is None or settings.telegram_mode != "webhook":
        return None
    webhook = TelegramWebhook(settings, chat, limiter=limiter)
    webhook.start()
    return webhook


async def stop_telegram_webhook(webhook: TelegramWebhook | None) -> None:
    if webhook is not None:
        await webhook.stop()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status)


UPDATE_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "title": "Update", "required": ["update_id"],
    "description": "A Telegram Update (https://core.telegram.org/bots/api#update)",
    "properties": {"update_id": {"type": "integer"}}}}}}}


@router.post(WEBHOOK_PATH, tags=["telegram"], openapi_extra=UPDATE_BODY, responses={
    200: {"description": "taken; answered in the background",
          "content": {"application/json": {"example": {"ok": True}}}},
    **error_response(400, "not a Telegram update"),
    **error_response(403, "wrong or missing X-Telegram-Bot-Api-Secret-Token"),
    **error_response(404, "Telegram is not served by this gateway (no token, or polling)"),
    **error_responses(413),
    **error_response(503, "the Telegram bot is starting; Telegram retries")})
async def telegram_webhook(
    request: Request,
    secret: Annotated[str | None, Header(alias="X-Telegram-Bot-Api-Secret-Token")] = None,
) -> JSONResponse:
    """Take one update from Telegram; it is answered in the background."""
    webhook: TelegramWebhook | None = getattr(request.app.state, "telegram", None)
    if webhook is None:
        return _error(404, "not_found", "Telegram is not served by this gateway.")
    if not webhook.accepts(secret):
        log.warning("telegram webhook called with a wrong or missing secret token")
        return _error(403, "forbidden", "Wrong or missing secret token.")
    if not webhook.bot.running:
        return _error(503, "telegram_starting", "The Telegram bot is starting; retry later.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPDATE_BYTES:
            return _error(413, "body_too_large",
                          f"Telegram updates are limited to {MAX_UPDATE_BYTES} bytes.")
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _error(400, "invalid_update", "The body is not a Telegram update.")
    try:
        await webhook.bot.feed(data)
    except ValueError as exc:
        return _error(400, "invalid_update", str(exc))
    return JSONResponse({"ok": True})
