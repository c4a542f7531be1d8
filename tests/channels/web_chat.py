"""Test helpers: what the gateway recorded in a conversation, read in its own process."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def recorded(client: TestClient, conversation_id: str) -> list[dict[str, Any]]:
    """Every message the gateway keeps for the conversation (its replay history), whatever
    the channel: what a Telegram chat or a conversation nobody may read through the web
    API holds."""
    chat = client.app.state.chat  # type: ignore[attr-defined]
    messages = client.portal.call(chat.history.since, conversation_id, 0)  # type: ignore[union-attr]
    return [m.model_dump(mode="json") for m in messages]


def telegram_turn(client: TestClient, conversation_id: str, text: str,
                  payload: str | None = None) -> list[dict[str, Any]]:
    """A shopper turn of a Telegram chat, handed to the gateway's chat service as the
    Telegram channel does (the web API refuses ``tg-`` ids)."""
    chat = client.app.state.chat  # type: ignore[attr-defined]

    async def turn() -> list[Any]:
        return await chat.handle_turn(conversation_id, text, payload=payload)

    return [m.model_dump(mode="json") for m in client.portal.call(turn)]  # type: ignore[union-attr]
