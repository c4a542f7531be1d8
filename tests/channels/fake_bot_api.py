"""A fake Telegram Bot API server, and helpers to drive a bot against it.

It speaks the HTTP Bot API the way python-telegram-bot uses it (form-encoded or multipart
parameters, ``{"ok": ..., "result": ...}`` answers), serves queued updates to
``getUpdates``, records every call, and can be told to fail the next calls of a method
(429 flood control, 5xx, 400), so the real PTB code runs end to end without Telegram's
servers.

It is as strict as Telegram's published Bot API where a real bot would be refused
(``400 Bad Request`` with Telegram's descriptions): a photo is a JPEG, PNG or WebP file
of at most 10 MB, uploaded or at an http(s) URL that Telegram's servers can reach (not
localhost or a private address, not an SVG); texts hold 1-4096 characters and captions
at most 1024 (counted in UTF-16 code units after the HTML markup); HTML parse mode allows
only Telegram's tags, properly nested, and the entities ``&lt; &gt; &amp; &quot;`` and
numeric ones; inline buttons carry 1-64 bytes of callback data or a reachable URL.
Refused calls are recorded too, with their refusal (``Call.refused``).
"""

from __future__ import annotations

import asyncio
import email.policy
import io
import ipaddress
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from channels.chat import ChatService
from channels.config import GatewaySettings
from channels.delivery.history import MemoryHistory
from channels.delivery.outlet import Outlet
from channels.rasa_client import make_rasa_client
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
    refused: str | None = None
    """Telegram's description when the stand-in refused the call as Telegram would."""

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
        """What the bot showed in a chat: messages and photos, in order (not the refused)."""
        with self._lock:
            return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto")
                    and c.chat_id == chat_id and c.refused is None]

    def refused(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.refused is not None]

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
        refusal = check_call(method, params)
        with self._lock:
            self.calls.append(Call(method, params, refused=refusal))
            failures = self._failures.get(method) if refusal is None else None
            failure = failures.pop(0) if failures else None
        if refusal is not None:
            return JSONResponse({"ok": False, "error_code": 400, "description": refusal},
                                status_code=400)
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
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if content_type.startswith("multipart/form-data"):  # a file upload
        raw.update(_multipart(content_type, body))
    elif body and content_type.startswith("application/json"):
        raw.update(json.loads(body))
    elif body:
        raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    return {k: json.loads(v) if k in JSON_PARAMS and isinstance(v, str) else v
            for k, v in raw.items()}


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """The fields of a multipart/form-data body; files as :class:`Upload`."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        fields[str(name)] = (Upload(filename, payload) if filename is not None
                             else payload.decode())
    return fields


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


# --- what Telegram refuses

@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
MAX_PHOTO_BYTES = 10 * 1024 * 1024
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
             "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote"}
HTML_ENTITIES = {"lt", "gt", "amp", "quot"}
PHOTO_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def check_call(method: str, params: dict[str, Any]) -> str | None:
    """Telegram's description of why it would refuse the call, or None."""
    if method == "sendMessage":
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            return "Bad Request: message text is empty"
        visible = _visible(text, params.get("parse_mode"))
        if isinstance(visible, Refusal):
            return visible.description
        if not visible.strip():
            return "Bad Request: message text is empty"
        if _utf16(visible) > MAX_TEXT:
            return "Bad Request: message is too long"
    elif method == "sendPhoto":
        refusal = _check_photo(params.get("photo"))
        if refusal is not None:
            return refusal
        caption = _visible(params.get("caption") or "", params.get("parse_mode"))
        if isinstance(caption, Refusal):
            return caption.description
        if _utf16(caption) > MAX_CAPTION:
            return "Bad Request: message caption is too long"
    if method in ("sendMessage", "sendPhoto"):
        return _check_keyboard(params.get("reply_markup"))
    return None


@dataclass(frozen=True)
class Refusal:
    description: str


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _public(url: str) -> bool:
    """Whether Telegram's servers could open ``url`` (an http(s) URL of a public host)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return "." in host and not host.endswith((".localhost", ".local", ".internal"))


def _check_photo(photo: Any) -> str | None:
    if isinstance(photo, Upload):
        data = photo.content
        riff_webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        if not (data.startswith(PHOTO_MAGIC) or riff_webp):
            return "Bad Request: IMAGE_PROCESS_FAILED"
        if len(data) > MAX_PHOTO_BYTES:
            return "Bad Request: file is too big"
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            return "Bad Request: PHOTO_INVALID_DIMENSIONS"
        return None
    if not isinstance(photo, str) or not photo:
        return "Bad Request: there is no photo in the request"
    if "://" not in photo:
        return None  # a file_id of a photo Telegram already has
    if not _public(photo):
        return "Bad Request: wrong HTTP URL specified"
    if PurePosixPath(urlsplit(photo).path).suffix.lower() in {".svg", ".gif", ".bmp",
                                                              ".tiff", ".html"}:
        return "Bad Request: wrong type of the web page content"
    return None


def _check_keyboard(markup: Any) -> str | None:
    if not markup:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                return "Bad Request: text buttons are unallowed in the inline keyboard"
            data, url = button.get("callback_data"), button.get("url")
            if (data is None) == (url is None):
                return "Bad Request: BUTTON_TYPE_INVALID"
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                return "Bad Request: BUTTON_DATA_INVALID"
            if url is not None and not _public(url):
                return (f"Bad Request: inline keyboard button URL '{url}' is invalid: "
                        "Wrong HTTP URL")
    return None


class _TelegramHtml(HTMLParser):
    """Reads a text in Telegram's HTML parse mode: its visible text, or why it is refused."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []
        self.open: list[str] = []
        self.error: str | None = None

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = f"Bad Request: can't parse entities: {message}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag not in HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        elif tag == "a" and not values.get("href"):
            self._fail('Expected "href" attribute of tag "a"')
        elif tag == "span" and values.get("class") != "tg-spoiler":
            self._fail('Tag "span" must have class "tg-spoiler"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self._fail(f'Can\'t find end tag corresponding to start tag "{tag}"'
                       if tag not in self.open else f'Unmatched end tag "{tag}"')
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in HTML_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};"')
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, ""))

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))


def _visible(text: str, parse_mode: Any) -> str | Refusal:
    if parse_mode is None:
        return text
    if parse_mode != "HTML":
        return Refusal(f"Bad Request: unsupported parse_mode {parse_mode}")
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser._fail(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return Refusal(parser.error) if parser.error is not None else "".join(parser.text)


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
    """The gateway's Telegram webhook with its own chat service, wired as ``channels.app``
    wires it (the same start/stop calls in the lifespan, the same router)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rasa = make_rasa_client(settings)
        chat = ChatService(rasa=rasa, outlet=Outlet(history=MemoryHistory(settings.history_limit)),
                           max_message_chars=settings.max_message_chars)
        app.state.telegram = await start_telegram_webhook(settings, chat)
        try:
            yield
        finally:
            await stop_telegram_webhook(app.state.telegram)
            await rasa.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(telegram_router)
    return app


def webhook_recorded(client: TestClient, conversation_id: str) -> list[dict[str, Any]]:
    """What the chat service of a :func:`webhook_gateway` app keeps for the conversation."""
    history = client.app.state.telegram.bot.channel.chat.outlet.history  # type: ignore
    messages = client.portal.call(history.since, conversation_id, 0)  # type: ignore[union-attr]
    return [m.model_dump(mode="json") for m in messages]
