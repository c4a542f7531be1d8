"""The metadata Rasa keeps from the gateway for a message: the shopper, signed."""

from __future__ import annotations

import time
from typing import Any

from actions.config import get_settings
from channels.assertion import sign_shopper


def signed_metadata(conversation_id: str, *, channel: str = "web",
                    external_id: str | None = None, secret: str | None = None,
                    now: float | None = None) -> dict[str, Any]:
    """As the gateway signs it: by default the conversation is its own web shopper, signed
    now with the action server's secret."""
    key = secret if secret is not None else get_settings().identity_secret.get_secret_value()
    shopper = {"channel": channel, "external_id": external_id or conversation_id}
    return {"shopper": sign_shopper(secret=key, conversation_id=conversation_id,
                                    shopper=shopper, now=time.time() if now is None else now)}
