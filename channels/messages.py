"""The gateway's message format, and its translation from Rasa's REST output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["shopper", "bot", "agent", "system"]


class Button(BaseModel):
    title: str
    payload: str


class Card(BaseModel):
    id: int
    sku: str
    name: str
    price: str
    currency: str
    image_url: str
    in_stock: bool = True
    url: str | None = None
    reason: str | None = None
    """Why the shop recommends it ("bought together with the Cobalt Mug 14 times")."""
    buttons: list[Button] = Field(default_factory=list)


class Link(BaseModel):
    title: str
    url: str


class ChatMessage(BaseModel):
    role: Role
    text: str | None = None
    buttons: list[Button] = Field(default_factory=list)
    cards: list[Card] = Field(default_factory=list)
    link: Link | None = None
    seq: int | None = None
    ts: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    client_id: str | None = None
    handoff: dict[str, str] | None = Field(default=None, exclude=True)
    """The bot hands the conversation to a person: ``{"reason", "summary"}`` (never sent
    to the shopper; the gateway moves the conversation to the agents' queue)."""
    transcript_id: int | None = Field(default=None, exclude=True)
    """The transcript row already written for it while the replay history could not take
    it (Redis down); numbering it later fills in that row instead of adding another."""


def from_rasa(outputs: list[dict[str, Any]]) -> list[ChatMessage]:
    """Rasa REST channel output → gateway messages (text, buttons, cards, link).

    Rasa sends an action's text and its custom payload as two outputs; a payload-only
    output is joined to the text before it, so a shopper sees one message with cards.
    """
    messages: list[ChatMessage] = []
    for out in outputs:
        custom = out.get("custom") or {}
        if not isinstance(custom, dict):
            custom = {}
        link = custom.get("link")
        handoff = custom.get("handoff")
        message = ChatMessage(
            role="bot",
            text=out.get("text"),
            buttons=[Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
                     for b in out.get("buttons") or [] if isinstance(b, dict)],
            cards=[Card.model_validate(c) for c in custom.get("cards") or []],
            link=Link.model_validate(link) if isinstance(link, dict) else None,
            handoff=({k: str(v)[:500] for k, v in handoff.items() if k in ("reason", "summary")}
                     if isinstance(handoff, dict) else None),
        )
        previous = messages[-1] if messages else None
        if message.handoff is not None and message.text is None and previous is not None:
            previous.handoff = message.handoff
            message.handoff = None
        if (message.text is None and previous is not None and not previous.cards
                and previous.link is None and (message.cards or message.link)):
            previous.cards = message.cards
            previous.link = message.link
            previous.buttons += message.buttons
            continue
        if message.text is None and not (message.cards or message.link or message.buttons
                                         or message.handoff):
            continue
        messages.append(message)
    return messages
