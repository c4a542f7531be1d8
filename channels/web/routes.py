"""The gateway's shopper endpoints: ``POST /api/chat``, a conversation's history and the
widget's WebSocket.

Every call of a conversation proves that it is the caller's with the conversation's
session secret (channels/web/ownership.py): the ``conversation_secret`` of the body, the
``X-Conversation-Secret`` header of the history, the first frame of the socket — never the
URL, which ends up in logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Header,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from channels.chat import CONVERSATION_ID_RE, ChatService
from channels.deps import (
    ChatDep,
    CustomersDep,
    HistoryDep,
    LimiterDep,
    NewsRoutesDep,
    OriginsDep,
    OutletDep,
    OwnersDep,
)
from channels.errors import GatewayError
from channels.identity import Shopper, check_web_conversation_id
from channels.limits import RateLimiter
from channels.messages import ChatMessage
from channels.redis_link import RETRY_AFTER_SECONDS
from channels.web.origins import NOT_ALLOWED
from channels.web.ownership import OwnershipError, new_secret
from commerce_core.errors import error_response, error_responses
from commerce_core.observability.logs import new_request_id, request_id

log = logging.getLogger(__name__)
router = APIRouter()
MAX_FRAME_BYTES = 16 * 1024
TRY_AGAIN_LATER = 1013
HISTORY_UNAVAILABLE = ("The conversation cannot be shown for a moment; please try again "
                       "shortly. Messages sent meanwhile are kept.")
HELLO_TIMEOUT_SECONDS = 10.0
"""How long a new socket may take to send its first frame, the one with the secret."""


class ChatRequest(BaseModel):
    conversation_id: str = Field(max_length=64)
    message: str = Field(default="", max_length=100_000)
    payload: str | None = Field(default=None, max_length=100_000)
    conversation_secret: str | None = Field(default=None, max_length=200)
    """Proves that the conversation is the caller's; a new conversation's first turn binds
    it (one is made and returned when none is given)."""
    customer_token: str | None = Field(default=None, max_length=300)
    """Signed by the shop for a logged-in customer (see channels/identity.py)."""


class ChatResponse(BaseModel):
    conversation_id: str
    messages: list[ChatMessage]
    conversation_secret: str | None = None
    """The secret made for a conversation begun without one: send it with every later call
    of the conversation. Given once; null otherwise."""


UNAVAILABLE = error_response(503, "the conversation store (Redis) is down for a moment; "
                                  "nothing was lost, try again (Retry-After)")
SECRET_REFUSED = error_response(403, "missing or wrong conversation secret, or an id of "
                                     "another channel")
TOKEN_REFUSED = error_response(401, "invalid or expired customer token")


@router.post("/api/chat", response_model=ChatResponse, tags=["chat"],
             responses={**error_response(422, "invalid or oversized message, reserved id"),
                        **TOKEN_REFUSED, **SECRET_REFUSED, **error_responses(413),
                        **error_response(429, "too many messages; see Retry-After"),
                        **UNAVAILABLE})
async def chat(body: ChatRequest, chat: ChatDep, owners: OwnersDep, customers: CustomersDep,
               limiter: LimiterDep, news_routes: NewsRoutesDep,
               request: Request) -> ChatResponse:
    """Send one shopper message to the bot and return the bot's messages.

    Everything that can refuse the message is checked before the conversation is claimed,
    so a refused first turn binds no secret (a refusal is a
    :class:`~channels.errors.GatewayError`: nothing was recorded or sent to the bot).
    """
    conversation_id, secret = body.conversation_id, body.conversation_secret
    made: str | None = None
    chat.validate(conversation_id, body.message, body.payload)
    check_web_conversation_id(conversation_id)
    customer = customers.customer(body.customer_token)
    # a stranger's attempt is refused before it can use up the conversation's limit
    owned = await owners.verify(conversation_id, secret)
    await limiter.check(conversation_id=conversation_id,
                        ip=request.client.host if request.client else None)
    if not owned:
        if secret is None:
            secret = made = new_secret()
        await owners.claim(conversation_id, secret)
    await news_routes.link_customer(customer, conversation_id)
    messages = await chat.handle_turn(conversation_id, body.message,
                                      payload=body.payload, shopper=customer)
    return ChatResponse(conversation_id=conversation_id, messages=messages,
                        conversation_secret=made)


@router.get("/api/chat/{conversation_id}/history", response_model=list[ChatMessage],
            tags=["chat"],
            responses={**TOKEN_REFUSED, **SECRET_REFUSED,
                       **error_response(422, "not a conversation id"), **UNAVAILABLE})
async def history(
        conversation_id: str, history: HistoryDep, owners: OwnersDep, customers: CustomersDep,
        after: Annotated[int, Query(ge=0)] = 0,
        x_conversation_secret: Annotated[str | None, Header(max_length=200)] = None,
        x_customer_token: Annotated[str | None, Header(max_length=300)] = None,
) -> list[ChatMessage]:
    """The conversation's messages after ``after``, for its owner: the
    ``X-Conversation-Secret`` header, or ``X-Customer-Token`` of its signed-in customer."""
    if not CONVERSATION_ID_RE.match(conversation_id):
        raise GatewayError("invalid_conversation_id", "bad conversation id")
    check_web_conversation_id(conversation_id)
    customer = customers.customer(x_customer_token)
    await owners.may_read(conversation_id, secret=x_conversation_secret, customer=customer)
    try:
        return await history.since(conversation_id, after)
    except RedisError as exc:  # the replay history is in Redis; nothing is lost meanwhile
        log.warning("history unavailable: %s", exc, extra={"conversation_id": conversation_id})
        raise GatewayError("history_unavailable", HISTORY_UNAVAILABLE, http_status=503,
                           retry_after=RETRY_AFTER_SECONDS) from None


def _frame(message: ChatMessage) -> str:
    return json.dumps({"type": "message", **message.model_dump(mode="json")})


async def _pump(ws: WebSocket, queue: asyncio.Queue[Any], last_seq: int) -> None:
    """The socket's only writer, so messages and control frames keep their order."""
    while True:
        item = await queue.get()
        if isinstance(item, dict):
            await ws.send_json(item)
            continue
        if item.seq is not None and item.seq <= last_seq:
            continue  # already replayed
        last_seq = item.seq or last_seq  # unnumbered: shown now while Redis is down
        await ws.send_text(_frame(item))


def _error(code: str, message: str) -> dict[str, str]:
    return {"type": "error", "code": code, "message": message}


async def _handle_frame(queue: asyncio.Queue[Any], chat: ChatService, conversation_id: str,
                        raw: str, *, limiter: RateLimiter, shopper: Shopper | None = None,
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
    request_id.set(new_request_id())  # each turn of the socket is a request of its own
    try:
        await limiter.check(conversation_id=conversation_id, ip=ip)
        await chat.handle_turn(conversation_id, text, payload=payload,
                               client_id=client_id if isinstance(client_id, str) else None,
                               shopper=shopper)
    except GatewayError as exc:  # refused: nothing recorded, the widget says why
        error = _error(exc.code, exc.message)
        if isinstance(client_id, str):
            error["client_id"] = client_id
        queue.put_nowait(error)
    finally:
        queue.put_nowait({"type": "typing", "on": False})


async def _hello(ws: WebSocket) -> tuple[str, str | None]:
    """The socket's first frame: ``{"type": "hello", "conversation_secret": "…",
    "customer_token": "…"}`` (the token only for a signed-in customer).

    Raises:
        OwnershipError: the first frame is something else, or does not come in time.
        WebSocketDisconnect: the client went away.
    """
    try:
        message = await asyncio.wait_for(ws.receive(), HELLO_TIMEOUT_SECONDS)
    except TimeoutError:
        message = {}
    if message.get("type") == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    frame: Any = None
    raw = message.get("text")
    if isinstance(raw, str) and len(raw.encode()) <= MAX_FRAME_BYTES:
        with contextlib.suppress(ValueError):
            frame = json.loads(raw)
    if not isinstance(frame, dict):
        frame = {}
    secret, token = frame.get("conversation_secret"), frame.get("customer_token")
    if frame.get("type") != "hello" or not isinstance(secret, str) or not (
            token is None or isinstance(token, str)):
        raise OwnershipError("conversation_secret_required",
                             'The first frame must be {"type": "hello", '
                             '"conversation_secret": "..."}.', 403)
    return secret, token or None


@router.websocket("/ws/chat")
async def chat_socket(ws: WebSocket, chat: ChatDep, outlet: OutletDep, owners: OwnersDep,
                      customers: CustomersDep, limiter: LimiterDep, news_routes: NewsRoutesDep,
                      origins: OriginsDep, conversation_id: str = "", after: int = 0) -> None:
    """The widget's connection: the first frame proves the conversation is the widget's
    (and binds the secret to a new conversation); then the history after ``after`` is
    replayed and every message recorded in the conversation follows."""
    await ws.accept()
    origin = ws.headers.get("origin")
    if not origins.allows(origin, ws.headers.get("host")):
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
        secret, token = await _hello(ws)
        customer = customers.customer(token)
        await owners.claim(conversation_id, secret)
        await news_routes.link_customer(customer, conversation_id)
    except GatewayError as exc:  # a wrong id, token or secret
        await ws.send_json(_error(exc.code, exc.message))
        await ws.close(code=TRY_AGAIN_LATER if exc.http_status == 503 else 1008)
        return
    except WebSocketDisconnect:
        return
    ip = ws.client.host if ws.client else None
    queue = outlet.subscribe(conversation_id)
    pump: asyncio.Task[None] | None = None
    try:
        last_seq = max(after, 0)
        try:
            missed = await outlet.history.since(conversation_id, last_seq)
        except RedisError as exc:  # the widget comes back after its back-off
            log.warning("history unavailable: %s", exc,
                        extra={"conversation_id": conversation_id})
            await ws.send_json(_error("unavailable", HISTORY_UNAVAILABLE))
            await ws.close(code=TRY_AGAIN_LATER)
            return
        for message in missed:
            await ws.send_text(_frame(message))
            last_seq = message.seq or last_seq
        pump = asyncio.create_task(_pump(ws, queue, last_seq))
        while True:
            raw = await ws.receive_text()
            await _handle_frame(queue, chat, conversation_id, raw, limiter=limiter,
                                shopper=customer, ip=ip)
    except WebSocketDisconnect:
        pass
    finally:
        outlet.unsubscribe(conversation_id, queue)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
