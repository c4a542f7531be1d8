"""Who the shopper of a turn is, as the gateway vouches for it to the bot (metadata).

By default a conversation is its own shopper: ``tg-<chat id>`` a Telegram chat, any other
id a web session. The prefixes of the channels' identity spaces are defined here only; a web
conversation's id may start with none of them (:func:`check_web_conversation_id`).

A shop whose customer is logged in signs a customer token with the secret it shares with
the gateway (``ATELIER_WIDGET_SECRET``) and puts it on the widget's tag
(``data-customer-token``): ``<customer ref>.<expiry unix seconds>.<hex HMAC-SHA256 of
"<customer ref>.<expiry>">``. Every conversation carrying a valid token then speaks for
the shopper ``web/shop-<customer ref>``, so the customer's orders are theirs in any
conversation, on any device, without giving an email.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass

from pydantic import SecretStr

from channels.errors import GatewayError

TELEGRAM_PREFIX = "tg-"
"""Conversation ids of Telegram chats, ``tg-<chat id>``; only the Telegram channel makes them."""
SHOP_PREFIX = "shop-"
"""External ids of customers vouched for by the shop; never a conversation's own id."""
RESERVED_PREFIXES = (TELEGRAM_PREFIX, SHOP_PREFIX)
"""Identity spaces a web conversation id may never enter: a chat id is no secret, so a web
conversation ``tg-<chat id>`` would speak for that Telegram shopper."""
CUSTOMER_REF_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TOKEN_CHARS = 200


def channel_of(conversation_id: str) -> str:
    """``telegram`` for ``tg-<chat id>`` conversations, else ``web``."""
    return "telegram" if conversation_id.startswith(TELEGRAM_PREFIX) else "web"


@dataclass(frozen=True)
class Shopper:
    channel: str
    external_id: str

    def as_metadata(self) -> dict[str, str]:
        return {"channel": self.channel, "external_id": self.external_id}

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.external_id}"


class IdentityError(GatewayError, ValueError):
    """A token or conversation id that cannot stand for a shopper; ``code`` says why:
    422 for a reserved conversation id, 401 for a customer token."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message,
                         http_status=422 if code == "reserved_conversation_id" else 401)


def check_web_conversation_id(conversation_id: str) -> None:
    """Refuse a conversation id of the web (the widget, ``POST /api/chat``) that names
    another channel's shopper; any case, so no id merely looks different from one.

    Raises:
        IdentityError: ``reserved_conversation_id``.
    """
    lowered = conversation_id.lower()
    for prefix in RESERVED_PREFIXES:
        if lowered.startswith(prefix):
            raise IdentityError("reserved_conversation_id",
                                f"Web conversation ids may not start with {prefix!r}: "
                                "that prefix belongs to another channel's shoppers.")


def default_shopper(conversation_id: str) -> Shopper:
    """The shopper a conversation stands for when no token says otherwise.

    Raises:
        IdentityError: the id is in the namespace of signed customers, so using it as a
            web session's id would claim that customer's orders.
    """
    if conversation_id.startswith(TELEGRAM_PREFIX):
        return Shopper("telegram", conversation_id)
    if conversation_id.startswith(SHOP_PREFIX):
        raise IdentityError("reserved_conversation_id",
                            f"Conversation ids may not start with {SHOP_PREFIX!r}.")
    return Shopper("web", conversation_id)


def _signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_customer_token(*, secret: str, customer_ref: str, expires_at: int) -> str:
    """What the shop's server puts on the widget tag for a logged-in customer."""
    if not CUSTOMER_REF_RE.match(customer_ref):
        raise ValueError("a customer ref is 1-64 letters, digits, _ or -")
    payload = f"{customer_ref}.{expires_at}"
    return f"{payload}.{_signature(secret, payload)}"


def verify_customer_token(token: str, *, secret: str | None, now: float) -> Shopper:
    """The shopper a valid, unexpired token names.

    Raises:
        IdentityError: ``customer_tokens_disabled`` (no secret configured),
            ``invalid_customer_token`` (malformed or tampered), ``customer_token_expired``.
    """
    if not secret:
        raise IdentityError("customer_tokens_disabled",
                            "This shop does not accept customer tokens.")
    parts = token.split(".") if len(token) <= MAX_TOKEN_CHARS else []
    if len(parts) != 3 or not CUSTOMER_REF_RE.match(parts[0]) or not parts[1].isdigit():
        raise IdentityError("invalid_customer_token", "The customer token is malformed.")
    ref, expiry, signature = parts
    if not hmac.compare_digest(signature.encode(), _signature(secret, f"{ref}.{expiry}")
                               .encode()):
        raise IdentityError("invalid_customer_token",
                            "The customer token's signature does not match.")
    if int(expiry) <= now:
        raise IdentityError("customer_token_expired",
                            "The customer token has expired; please reload the page.")
    return Shopper("web", SHOP_PREFIX + ref)


class CustomerTokens:
    """Checks the customer tokens of the shop that shares ``secret`` with the gateway."""

    def __init__(self, secret: SecretStr | None) -> None:
        self._secret = secret.get_secret_value() if secret else None

    def customer(self, token: str | None) -> Shopper | None:
        """The customer a token vouches for (None without a token); nothing is linked.

        Raises:
            IdentityError: the token is malformed, tampered with or expired.
        """
        if not token:
            return None
        return verify_customer_token(token, now=time.time(), secret=self._secret)
