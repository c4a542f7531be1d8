"""Who the shopper of a conversation is: only whom the gateway signed for.

The gateway signs, for every message it forwards, the shopper it vouches for and the
conversation (channels/assertion.py); Rasa keeps the signed assertion in the message's
metadata and sends it back with every action call. An action acts for a shopper only on a
valid assertion for this very conversation: a tracker posted to the action server by
anyone else (no secret, another conversation's assertion, an old one) acts for nobody.
Rasa's channel checks the same rules (bot/atelier_identity.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rasa_sdk import Tracker

from actions.clients import CommerceError
from actions.config import get_settings

VERSION = "atelier-shopper/1"
MAX_AGE_SECONDS = 120
"""An assertion is good for one turn (see bot/atelier_identity.py)."""
MAX_SKEW_SECONDS = 30
CHANNELS = frozenset({"web", "telegram", "api"})
_SAFE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
NOBODY = ("I can't confirm who you are in this conversation just now, so I can't look at "
          "or change a cart or an order. Please send your message again in a moment.")


@dataclass(frozen=True)
class Shopper:
    channel: str
    external_id: str

    @property
    def path(self) -> str:
        """``/shoppers/{channel}/{external_id}``, the prefix of every owned resource."""
        return f"/shoppers/{quote(self.channel, safe='')}/{quote(self.external_id, safe='')}"


class UnverifiedShopper(CommerceError):
    """The tracker names no shopper the gateway signed for; ``code`` says why. A
    ``CommerceError``, so every action tells the shopper :data:`NOBODY` and changes
    nothing."""

    def __init__(self, code: str) -> None:
        super().__init__(NOBODY, code, 401)


def verified_shopper(metadata: Any, *, conversation_id: str, secret: str,
                     now: float) -> Shopper:
    """The shopper of a valid assertion for this conversation.

    Raises:
        UnverifiedShopper: ``missing_shopper_assertion``, ``invalid_shopper_assertion``
            (malformed, forged, or for another conversation), ``shopper_assertion_expired``.
    """
    given = metadata.get("shopper") if isinstance(metadata, dict) else None
    if not isinstance(given, dict) or "signature" not in given:
        raise UnverifiedShopper("missing_shopper_assertion")
    channel, external_id = given.get("channel"), given.get("external_id")
    issued_at, signature = given.get("issued_at"), given.get("signature")
    if (channel not in CHANNELS or not isinstance(external_id, str)
            or not _SAFE.match(external_id) or type(issued_at) is not int
            or not isinstance(signature, str) or not _SIGNATURE.match(signature)):
        raise UnverifiedShopper("invalid_shopper_assertion")
    text = json.dumps([VERSION, conversation_id, channel, external_id, issued_at],
                      separators=(",", ":")).encode()
    expected = hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        raise UnverifiedShopper("invalid_shopper_assertion")
    if not now - MAX_AGE_SECONDS <= issued_at <= now + MAX_SKEW_SECONDS:
        raise UnverifiedShopper("shopper_assertion_expired")
    return Shopper(channel, external_id)


def shopper_of(tracker: Tracker) -> Shopper:
    """The shopper the gateway signed for in the latest message of this conversation.

    Raises:
        UnverifiedShopper: there is none (see :func:`verified_shopper`).
    """
    return verified_shopper(tracker.latest_message.get("metadata"),
                            conversation_id=tracker.sender_id,
                            secret=get_settings().identity_secret.get_secret_value(),
                            now=time.time())
