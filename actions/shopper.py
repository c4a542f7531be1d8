"""Who the shopper of a conversation is, as the commerce API knows them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from rasa_sdk import Tracker

TELEGRAM_PREFIX = "tg-"
_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


@dataclass(frozen=True)
class Shopper:
    channel: str
    external_id: str

    @property
    def path(self) -> str:
        """``/shoppers/{channel}/{external_id}``, the prefix of every owned resource."""
        return f"/shoppers/{quote(self.channel, safe='')}/{quote(self.external_id, safe='')}"


def shopper_of(tracker: Tracker) -> Shopper:
    """The identity the gateway vouched for (message metadata), else the conversation's.

    The gateway puts ``{"shopper": {"channel", "external_id"}}`` in the metadata of every
    message it forwards (a logged-in customer of the shop gets a stable id there); without
    it, a Telegram conversation ``tg-<chat id>`` is that Telegram chat and any other
    conversation id is a web session.
    """
    metadata = tracker.latest_message.get("metadata") or {}
    given = metadata.get("shopper") if isinstance(metadata, dict) else None
    if isinstance(given, dict):
        channel, external_id = given.get("channel"), given.get("external_id")
        if (channel in {"web", "telegram", "api"} and isinstance(external_id, str)
                and _SAFE.match(external_id)):
            return Shopper(channel, external_id)
    sender = tracker.sender_id
    channel = "telegram" if sender.startswith(TELEGRAM_PREFIX) else "web"
    return Shopper(channel, sender)
