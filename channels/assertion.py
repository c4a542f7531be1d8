"""The gateway's signed word for who the shopper of a turn is.

Rasa's channel (bot/atelier_channel.py) refuses a message without it, and the action
server (actions/shopper.py) acts for a shopper only on it, so a caller who reaches either
of them directly cannot speak or act for a customer. The three share one secret,
``ATELIER_IDENTITY_SECRET``.

Every message the gateway forwards carries, in its metadata::

    {"shopper": {"channel": "web", "external_id": "...", "issued_at": <unix seconds>,
                 "signature": "<hex HMAC-SHA256>"}}

signed over the compact JSON array ``["atelier-shopper/1", <conversation id>, <channel>,
<external id>, <issued_at>]`` (JSON, so no two assertions share a signed text). The
conversation id is the message's sender: an assertion is worth nothing in another
conversation. It is signed when the message is sent, also when a waiting one is sent
again, and the verifiers accept it for a short while only (see bot/atelier_identity.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

VERSION = "atelier-shopper/1"


def signed_text(*, conversation_id: str, channel: str, external_id: str,
                issued_at: int) -> bytes:
    return json.dumps([VERSION, conversation_id, channel, external_id, issued_at],
                      separators=(",", ":")).encode()


def sign_shopper(*, secret: str, conversation_id: str, shopper: Mapping[str, Any],
                 now: float) -> dict[str, Any]:
    """``shopper`` (``{"channel", "external_id"}``) with its issue time and signature."""
    channel, external_id, issued_at = str(shopper["channel"]), str(shopper["external_id"]), \
        int(now)
    text = signed_text(conversation_id=conversation_id, channel=channel,
                       external_id=external_id, issued_at=issued_at)
    return {"channel": channel, "external_id": external_id, "issued_at": issued_at,
            "signature": hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()}
