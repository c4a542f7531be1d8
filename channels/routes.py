"""The gateway's shopper endpoints: ``POST /api/chat`` and the widget's WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from channels.chat import CONVERSATION_ID_RE, ChatInputError, ChatService
from channels.delivery import Delivery
from channels.identity import IdentityError, Shopper, check_web_conversation_id
from channels.limits import RateLimited
from channels.messages import ChatMessage
from channels.origins import NOT_ALLOWED
from commerce_core.errors import error_body

log = logging.getLogger(__name__)
router = APIRouter()
MAX_FRAME_BYTES = 16 * 1024


def get_chat(request: Request) -> ChatService:
    return request.app.state.chat


ChatDep = Annotated[ChatService, Depends(get_chat)]


class ChatRequest(BaseModel):
    conversation_id: str = Field(max_length=64)
    message: str = Field(default="", max_length=100_000)
    payload: str | None = Field(default=None, max_length=100_000)
    customer_token: str | None = Field(default=None, max_length=300)
    """Signed by the shop for a logged-in customer (see channels/identity.py)."""


class ChatResponse(BaseModel):
    conversation_id: str
    messages: list[ChatMessage]


@router.post("/api/chat", response_model=ChatResponse, tags=["chat"],
             responses={422: {"description": "invalid or oversized message"},
                        401: {"description": "invalid or expired customer token"},
                        429: {"description": "too many messages"}})
async def chat(body: ChatRequest, chat: ChatDep, request: Request) -> ChatResponse | JSONResponse:
    """Send one shopper message to the bot and return the bot's messages."""
    delivery: Delivery = request.app.state.delivery
    try:
        check_web_conversation_id(body.conversation_id)
    except IdentityError as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=422)
    try:
        shopper = await delivery.shopper(body.customer_token, body.conversation_id)
        await delivery.limiter.check(conversation_id=body.conversation_id,
                                     ip=request.client.host if request.client else None)
        messages = await chat.handle_turn(body.conversation_id, body.message,
                                          payload=body.payload, shopper=shopper)
    except IdentityError as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=401)
    except RateLimited as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=429,
                            headers={"Retry-After": str(exc.retry_after)})
    except ChatInputError as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=422)
    return ChatResponse(conversation_id=body.conversation_id, messages=messages)


@router.get("/api/chat/{conversation_id}/history", response_model=list[ChatMessage],
            tags=["chat"])
async def history(conversation_id: str, chat: ChatDep,
                  after: Annotated[int, Query(ge=0)] = 0) -> list[ChatMessage] | JSONResponse:
    if not CONVERSATION_ID_RE.match(conversation_id):
        return JSONResponse(error_body("invalid_conversation_id", "bad conversation id"), 422)
    try:
        check_web_conversation_id(conversation_id)
    except IdentityError as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=422)
    return await chat.history.since(conversation_id, after)


def _frame(message: ChatMessage) -> str:
    return json.dumps({"type": "message", **message.model_dump(mode="json")})


async def _pump(ws: WebSocket, queue: asyncio.Queue[Any], last_seq: int) -> None:
    """The socket's only writer, so messages and control frames keep their order."""
    while True:
        item = await queue.get()
        if isinstance(item, dict):
            await ws.send_json(item)
            continue
        if (item.seq or 0) <= last_seq:
            continue  # already replayed
        last_seq = item.seq or last_seq
        await ws.send_text(_frame(item))


def _error(code: str, message: str) -> dict[str, str]:
    return {"type": "error", "code": code, "message": message}


async def _handle_frame(queue: asyncio.Queue[Any], chat: ChatService, conversation_id: str,
                        raw: str, *, delivery: Delivery, shopper: Shopper | None = None,
                        ip: str | None = None) -> None:
    if len(raw.encode()) > MAX_FRAME_BYTES:
        queue.put_nowait(_error("frame_too_large", "That message is too large to send."))
        return
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        frame = None
    if not isinstance(frame, dict) or frame.get("type") != "message":
        queue.put_nowait(_error("invalid_frame", "Frames must be JSON objects of type 'message'."))
        return
    text, payload = frame.get("text"), frame.get("payload")
    client_id = frame.get("client_id")
    if not isinstance(text, str) or (payload is not None and not isinstance(payload, str)):
        queue.put_nowait(_error("invalid_frame", "'text' must be a string."))
        return
    queue.put_nowait({"type": "typing", "on": True})
    try:
        await delivery.limiter.check(conversation_id=conversation_id, ip=ip)
        await chat.handle_turn(conversation_id, text, payload=payload,
                               client_id=client_id if isinstance(client_id, str) else None,
                               shopper=shopper)
    except ChatInputError as exc:
        error = _error(exc.code, exc.message)
        if isinstance(client_id, str):
            error["client_id"] = client_id
        queue.put_nowait(error)
    finally:
        queue.put_nowait({"type": "typing", "on": False})


@router.websocket("/ws/chat")
async def chat_socket(ws: WebSocket, conversation_id: str = "", after: int = 0,
                      customer_token: str = "") -> None:
    chat: ChatService = ws.app.state.chat
    delivery: Delivery = ws.app.state.delivery
    await ws.accept()
    origin = ws.headers.get("origin")
    if not delivery.origins.allows(origin, ws.headers.get("host")):
        await ws.send_json(_error("origin_not_allowed", NOT_ALLOWED.format(origin=origin)))
        await ws.close(code=1008)
        return
    if not CONVERSATION_ID_RE.match(conversation_id):
        await ws.send_json({"type": "error", "code": "invalid_conversation_id",
                            "message": "A valid conversation_id is required."})
        await ws.close(code=1008)
        return
    try:
        check_web_conversation_id(conversation_id)
        shopper = await delivery.shopper(customer_token, conversation_id)
    except IdentityError as exc:
        await ws.send_json(_error(exc.code, exc.message))
        await ws.close(code=1008)
        return
    ip = ws.client.host if ws.client else None
    queue = chat.subscribe(conversation_id)
    pump: asyncio.Task[None] | None = None
    try:
        last_seq = max(after, 0)
        for message in await chat.history.since(conversation_id, last_seq):
            await ws.send_text(_frame(message))
            last_seq = message.seq or last_seq
        pump = asyncio.create_task(_pump(ws, queue, last_seq))
        while True:
            raw = await ws.receive_text()
            await _handle_frame(queue, chat, conversation_id, raw, delivery=delivery,
                                shopper=shopper, ip=ip)
    except WebSocketDisconnect:
        pass
    finally:
        chat.unsubscribe(conversation_id, queue)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
