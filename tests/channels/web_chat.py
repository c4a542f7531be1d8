"""Test helpers: a web shopper's calls to the gateway, proving with the conversation's
session secret that the conversation is theirs (as the widget does), and what the gateway
recorded in a conversation, read in its own process."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from channels.deps import Gateway

SECRET_HEADER = "X-Conversation-Secret"
_secrets: dict[str, str] = {}


def gateway_of(client: TestClient) -> Gateway:
    """The collaborators the running app built (:mod:`channels.deps`)."""
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    return gateway


def secret_of(conversation_id: str) -> str:
    """The session secret of a conversation, made on its first use, as the widget makes
    one with each new conversation id."""
    return _secrets.setdefault(conversation_id, secrets.token_urlsafe(32))


def chat_body(conversation_id: str, message: str = "", **fields: Any) -> dict[str, Any]:
    """The JSON of ``POST /api/chat`` for the conversation's owner."""
    return {"conversation_id": conversation_id, "message": message,
            "conversation_secret": secret_of(conversation_id), **fields}


def owner(conversation_id: str) -> dict[str, str]:
    """The headers of the owner's ``GET /api/chat/{id}/history``."""
    return {SECRET_HEADER: secret_of(conversation_id)}


def hello(conversation_id: str, **fields: Any) -> dict[str, Any]:
    """The first frame of the owner's socket."""
    return {"type": "hello", "conversation_secret": secret_of(conversation_id), **fields}


@contextmanager
def chat_socket(client: TestClient, conversation_id: str, *, after: int | None = None,
                headers: dict[str, str] | None = None,
                **hello_fields: Any) -> Iterator[WebSocketTestSession]:
    """The widget's socket to the conversation, its first frame sent."""
    url = f"/ws/chat?conversation_id={conversation_id}"
    if after is not None:
        url += f"&after={after}"
    with client.websocket_connect(url, headers=dict(headers or {})) as ws:
        ws.send_json(hello(conversation_id, **hello_fields))
        yield ws


def recorded(client: TestClient, conversation_id: str) -> list[dict[str, Any]]:
    """Every message the gateway keeps for the conversation (its replay history), whatever
    the channel: what a Telegram chat, or a conversation nobody proved theirs, holds."""
    history = gateway_of(client).outlet.history
    messages = client.portal.call(history.since, conversation_id, 0)  # type: ignore[union-attr]
    return [m.model_dump(mode="json") for m in messages]


def telegram_turn(client: TestClient, conversation_id: str, text: str,
                  payload: str | None = None) -> list[dict[str, Any]]:
    """A shopper turn of a Telegram chat, handed to the gateway's chat service as the
    Telegram channel does (the web API refuses ``tg-`` ids)."""
    chat = gateway_of(client).chat

    async def turn() -> list[Any]:
        return await chat.handle_turn(conversation_id, text, payload=payload)

    return [m.model_dump(mode="json") for m in client.portal.call(turn)]  # type: ignore[union-attr]
