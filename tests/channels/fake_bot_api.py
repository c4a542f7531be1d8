"""A fake Telegram Bot API server, and helpers to drive a bot against it.

It speaks the HTTP Bot API the way python-telegram-bot uses it (form-encoded parameters,
``{"ok": ..., "result": ...}`` answers), serves queued updates to ``getUpdates``, records
every call, and can be told to fail the next calls of a method (429 flood control, 5xx,
400), so the real PTB code runs end to end without Telegram's servers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from channels.chat import ChatService
from channels.config import GatewaySettings
from channels.history import MemoryHistory
from channels.rasa_client import make_rasa_client
from channels.routes import router as chat_router
from channels.telegram.webhook import router as telegram_router
from channels.telegram.webhook import start_telegram_webhook, stop_telegram_webhook
from tests.e2e.stack import free_port

T = TypeVar("T")
TOKEN = "123456:TEST-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Atelier", "username": "atelier_bot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
JSON_PARAMS = {"chat_id", "reply_markup", "allowed_updates", "commands", "offset", "limit",
               "timeout", "message_id", "show_alert", "cache_time", "drop_pending_updates",
               "max_connections"}
FLOOD = (429, {"ok": False, "error_code": 429,
               "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        return self.params.get("chat_id")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class FakeBotApi:
    token: str = TOKEN
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: uvicorn.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- control from the test

    def push(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append({"update_id": next(self._ids), **update})

    def fail_next(self, method: str, times: int = 1, answer: tuple[int, dict[str, Any]] = FLOOD
                  ) -> None:
        with self._lock:
            self._failures.setdefault(method, []).extend([answer] * times)

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method
                    and (chat_id is None or c.chat_id == chat_id)]

    def sent(self, chat_id: int) -> list[Call]:
        """What the bot showed in a chat: messages and photos, in order."""
        with self._lock:
            return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto")
                    and c.chat_id == chat_id]

    def wait_for(self, check: Callable[[], T], timeout: float = 30.0, what: str = "") -> T:
        """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or check}; calls: "
                                     f"{[(c.method, c.params) for c in self.calls][-10:]}")
            time.sleep(0.05)

    # --- the server

    def start(self) -> FakeBotApi:
        app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint,
                                      methods=["GET", "POST"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        threading.Thread(target=self._server.run, daemon=True).start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Bot API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401,
                                 "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await _params(request)
        with self._lock:
            self.calls.append(Call(method, params))
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            return JSONResponse(failure[1], status_code=failure[0])
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        handler = ANSWERS.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error_code": 404,
                                 "description": "Not Found: method not found"}, status_code=404)
        return _ok(handler(self, params))

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates[:int(params.get("limit") or 100)])
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        with self._lock:
            message_id = next(self._ids)
        return {"message_id": message_id, "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": params["chat_id"], "type": "private"}, **content}


async def _params(request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if body and request.headers.get("content-type", "").startswith("application/json"):
        raw.update(json.loads(body))
    elif body:
        raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    return {k: json.loads(v) if k in JSON_PARAMS and isinstance(v, str) else v
            for k, v in raw.items()}


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


ANSWERS: dict[str, Callable[[FakeBotApi, dict[str, Any]], Any]] = {
    "getMe": lambda api, p: BOT_USER,
    "setWebhook": lambda api, p: True,
    "deleteWebhook": lambda api, p: True,
    "setMyCommands": lambda api, p: True,
    "sendChatAction": lambda api, p: True,
    "answerCallbackQuery": lambda api, p: True,
    "sendMessage": lambda api, p: api._message(p, text=p["text"]),
    "sendPhoto": lambda api, p: api._message(p, caption=p.get("caption"), photo=[
        {"file_id": "photo-1", "file_unique_id": "p1", "width": 640, "height": 640}]),
}


# --- updates as Telegram sends them

def _user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Ada", "language_code": "en"}


def text_update(chat_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": 1, "date": int(time.time()), "text": text,
                               "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
                               "from": _user(chat_id)}
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message}


def sticker_update(chat_id: int) -> dict[str, Any]:
    return {"message": {"message_id": 1, "date": int(time.time()), "from": _user(chat_id),
                        "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
                        "sticker": {"file_id": "s1", "file_unique_id": "s1", "width": 512,
                                    "height": 512, "is_animated": False, "is_video": False,
                                    "type": "regular"}}}


def button_update(chat_id: int, data: str, query_id: str = "cq-1") -> dict[str, Any]:
    return {"callback_query": {
        "id": query_id, "from": _user(chat_id), "chat_instance": "ci-1", "data": data,
        "message": {"message_id": 1, "date": int(time.time()), "from": BOT_USER,
                    "chat": {"id": chat_id, "type": "private"}, "text": "…"}}}


class LoopThread:
    """An event loop in a background thread, for a bot that runs while a test waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def webhook_gateway(settings: GatewaySettings) -> FastAPI:
    """The gateway's chat routes with Telegram in webhook mode, wired as ``channels.app``
    wires it (the same start/stop calls in the lifespan, the same router)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rasa = make_rasa_client(settings)
        app.state.chat = ChatService(rasa=rasa, history=MemoryHistory(settings.history_limit),
                                     max_message_chars=settings.max_message_chars)
        app.state.telegram = await start_telegram_webhook(settings, app.state.chat)
        try:
            yield
        finally:
            await stop_telegram_webhook(app.state.telegram)
            await rasa.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(chat_router)
    app.include_router(telegram_router)
    return app
