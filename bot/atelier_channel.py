"""Rasa's channel for the gateway: only turns the gateway signed.

Configured in credentials.yml as ``atelier_channel.AtelierInput`` (``rasa run`` imports it
from the bot directory); the gateway posts ``{"sender", "message", "metadata"}`` to
``/webhooks/atelier/webhook`` and gets Rasa's answers as the REST channel gives them.

Who speaks: a message whose metadata lacks a valid shopper assertion of the gateway for
this conversation (channels/assertion.py, checked by atelier_identity.py) is refused with
401, so a caller who reaches Rasa directly cannot speak for a customer.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from atelier_identity import AssertionRefused, verify_shopper

logger = logging.getLogger(__name__)
PLACEHOLDER_SECRET = "change-me"
MIN_SECRET_CHARS = 16
MAX_SENDER_CHARS = 128


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"code": code, "message": message}, status=status)


class AtelierInput(InputChannel):
    """The gateway's channel. Credentials: ``identity_secret`` (``ATELIER_IDENTITY_SECRET``,
    at least 16 characters, shared with the gateway and the action server)."""

    @classmethod
    def name(cls) -> Text:
        return "atelier"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        secret = str((credentials or {}).get("identity_secret") or "")
        if len(secret) < MIN_SECRET_CHARS or secret == PLACEHOLDER_SECRET:
            raise RasaException(
                "The atelier channel needs identity_secret (ATELIER_IDENTITY_SECRET in "
                "credentials.yml): the gateway's secret, at least 16 characters.")
        return cls(secret)

    def __init__(self, identity_secret: str) -> None:
        self.identity_secret = identity_secret

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                  ) -> Blueprint:
        webhook = Blueprint("atelier_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            metadata = body.get("metadata")
            if (not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_CHARS
                    or not isinstance(text, str)):
                return _error(400, "invalid_request",
                              "Post {\"sender\", \"message\", \"metadata\"}.")
            try:
                verify_shopper(metadata, conversation_id=sender,
                               secret=self.identity_secret, now=time.time())
            except AssertionRefused as refused:
                logger.warning("refused a message for %s: %s", sender, refused.code)
                return _error(401, refused.code, refused.message)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender,
                                                 input_channel=self.name(),
                                                 metadata=metadata))
            except Exception:  # as Rasa's REST channel: what was said so far is answered
                logger.exception("the turn of %s failed", sender)
            return response.json(collector.messages)

        return webhook
