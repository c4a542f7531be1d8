"""Checking the gateway's signed shopper assertion (see channels/assertion.py).

Standard library only: Rasa's channel (atelier_channel.py) imports it in Rasa's Python 3.10
environment. The action server checks the same assertion with its own copy of these rules
(actions/shopper.py); tests/bot/test_identity_assertion.py holds the three in step.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Optional, Tuple

VERSION = "atelier-shopper/1"
MAX_AGE_SECONDS = 120
"""An assertion is good for one turn: Rasa and its actions check it within seconds of its
signing. A copy taken from a tracker is worth nothing two minutes later."""
MAX_SKEW_SECONDS = 30
"""Tolerated clock difference between the gateway's host and this one."""
CHANNELS = frozenset({"web", "telegram", "api"})
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
SIGNATURE_RE = re.compile(r"^[0-9a-f]{64}$")


class AssertionRefused(Exception):
    """No valid shopper assertion; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def signed_text(conversation_id: str, channel: str, external_id: str, issued_at: int) -> bytes:
    return json.dumps([VERSION, conversation_id, channel, external_id, issued_at],
                      separators=(",", ":")).encode()


def verify_shopper(metadata: Any, *, conversation_id: str, secret: str,
                   now: float) -> Tuple[str, str]:
    """The ``(channel, external id)`` the gateway signed for this conversation.

    Raises:
        AssertionRefused: ``missing_shopper_assertion``, ``invalid_shopper_assertion``
            (malformed, forged, or signed for another conversation) or
            ``shopper_assertion_expired``.
    """
    shopper: Optional[Any] = metadata.get("shopper") if isinstance(metadata, dict) else None
    if not isinstance(shopper, dict) or "signature" not in shopper:
        raise AssertionRefused("missing_shopper_assertion",
                               "The message carries no signed shopper assertion.")
    channel, external_id = shopper.get("channel"), shopper.get("external_id")
    issued_at, signature = shopper.get("issued_at"), shopper.get("signature")
    if (channel not in CHANNELS or not isinstance(external_id, str)
            or not EXTERNAL_ID_RE.match(external_id) or type(issued_at) is not int
            or not isinstance(signature, str) or not SIGNATURE_RE.match(signature)):
        raise AssertionRefused("invalid_shopper_assertion",
                               "The shopper assertion is malformed.")
    expected = hmac.new(secret.encode(), signed_text(conversation_id, channel, external_id,
                                                     issued_at), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        raise AssertionRefused("invalid_shopper_assertion",
                               "The shopper assertion's signature does not match this "
                               "conversation.")
    if not now - MAX_AGE_SECONDS <= issued_at <= now + MAX_SKEW_SECONDS:
        raise AssertionRefused("shopper_assertion_expired",
                               "The shopper assertion has expired.")
    return channel, external_id
