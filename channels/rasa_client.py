"""The gateway's client of the Rasa server: its channel (bot/atelier_channel.py), and the
HTTP API (served with ``rasa run --enable-api``) for what the channel cannot do.

Several Rasa servers (processes or replicas sharing one tracker store) share the
conversations: each conversation always goes to the same one, chosen by rendezvous hashing
of its id, so that its turns are handled one after the other by one server (whose lock
store orders them) and every gateway replica picks the same server. A server taken off the
list moves only its own conversations."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from channels.assertion import sign_shopper
from channels.config import GatewaySettings
from commerce_core.observability.logs import REQUEST_ID_HEADER, request_id
from commerce_core.observability.metrics import RASA_DURATION

WEBHOOK_PATH = "/webhooks/atelier/webhook"
UNDERSTOOD_HEADER = "X-Atelier-Understood"
"""Rasa's channel says in it whether the bot understood the message (bot/atelier_channel.py)."""

API_HINTS = {404: " (is its HTTP API enabled? rasa run --enable-api)",
             401: " (its HTTP API wants the --auth-token: set ATELIER_RASA_API_TOKEN)",
             403: " (its HTTP API refused ATELIER_RASA_API_TOKEN)"}


class BotUnavailable(Exception):
    """Rasa did not answer (down, starting, or failing)."""


class ActionsUnavailable(BotUnavailable):
    """Rasa could not finish the turn because its action server is down; it kept nothing
    of it, so the message can be sent again once the action server is back."""


def rasa_servers(urls: str | Sequence[str]) -> list[str]:
    """The servers of ``ATELIER_RASA_URL``: one URL, or several separated by commas."""
    found = [u.strip().rstrip("/") for u in (urls.split(",") if isinstance(urls, str)
                                             else urls) if u.strip()]
    if not found:
        raise ValueError("no Rasa server URL given")
    return found


def server_for(conversation_id: str, servers: Sequence[str]) -> int:
    """The index of the server that handles ``conversation_id`` (rendezvous hashing: the
    same for every process, and stable for a conversation while its server is listed)."""
    if len(servers) == 1:
        return 0
    weights = [hashlib.blake2b(f"{server}\n{conversation_id}".encode(), digest_size=8).digest()
               for server in servers]
    return weights.index(max(weights))


class BotAnswers(list[dict[str, Any]]):
    """Rasa's answers to one message, as its REST channel gives them."""

    understood: bool | None = None
    """False when the bot fell back (it did not understand); None when Rasa did not say."""


class RasaClient:
    """Args:
        base_url: the Rasa server, or several (a list, or URLs separated by commas).
        timeout: seconds for one call.
        api_token: the server's ``--auth-token``, sent to its HTTP API (not the channel).
        actions_url: the action server Rasa calls, asked about its health before a
            message that waited for it is sent again.
        identity_secret: signs the shopper of every message (channels/assertion.py).
    """

    def __init__(self, base_url: str | Sequence[str], timeout: float, *,
                 api_token: str | None = None, actions_url: str | None = None,
                 identity_secret: str = "change-me") -> None:
        self.servers = rasa_servers(base_url)
        self._clients = [httpx.AsyncClient(base_url=url, timeout=timeout)
                         for url in self.servers]
        self._auth = {"token": api_token} if api_token else {}
        self._actions_health = f"{actions_url.rstrip('/')}/health" if actions_url else None
        self._identity_secret = identity_secret

    async def send(self, conversation_id: str, message: str, *,
                   metadata: dict[str, Any] | None = None) -> BotAnswers:
        """Ask the bot; ``metadata["shopper"]`` (``{"channel", "external_id"}``) is signed
        for this conversation now, so a message sent again later is signed afresh. The
        request id of the turn goes with it (``metadata["request_id"]``), for the logs of
        Rasa's actions.

        Raises:
            ActionsUnavailable: the action server is down; Rasa kept nothing of the turn.
            BotUnavailable: Rasa is down, starting, failing or refused the signature.
        """
        started, outcome = time.perf_counter(), "unavailable"
        try:
            answers = await self._send(conversation_id, message, metadata=metadata)
        except ActionsUnavailable:
            outcome = "actions_unavailable"
            raise
        else:
            outcome = "ok"
            return answers
        finally:
            RASA_DURATION.labels(outcome).observe(time.perf_counter() - started)

    async def _send(self, conversation_id: str, message: str, *,
                    metadata: dict[str, Any] | None) -> BotAnswers:
        rid = request_id.get()
        if rid is not None:
            metadata = {**(metadata or {}), "request_id": rid}
        body: dict[str, Any] = {"sender": conversation_id, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
            if isinstance(metadata.get("shopper"), dict):
                body["metadata"] = {**metadata, "shopper": sign_shopper(
                    secret=self._identity_secret, conversation_id=conversation_id,
                    shopper=metadata["shopper"], now=time.time())}
        try:
            response = await self._for(conversation_id).post(
                WEBHOOK_PATH, json=body,
                headers={REQUEST_ID_HEADER: rid} if rid is not None else None)
        except httpx.HTTPError as exc:
            raise BotUnavailable(str(exc) or type(exc).__name__) from exc
        if response.status_code != 200:
            code = _error_code(response)
            if response.status_code == 503 and code == "actions_unavailable":
                raise ActionsUnavailable("the action server is down (Rasa kept nothing of "
                                         "the turn)")
            hint = (" (is ATELIER_IDENTITY_SECRET the same for the gateway, Rasa and the "
                    "action server?)" if response.status_code == 401 else "")
            raise BotUnavailable(f"Rasa answered {response.status_code}"
                                 f"{f' {code}' if code else ''}{hint}")
        data = response.json()
        if not isinstance(data, list):
            raise BotUnavailable("Rasa answered something that is not a message list")
        answers = BotAnswers(data)
        answers.understood = {"true": True, "false": False}.get(
            response.headers.get(UNDERSTOOD_HEADER, ""))
        return answers

    async def replace_events(self, conversation_id: str,
                             events: list[dict[str, Any]]) -> None:
        """Replace the events of the conversation's tracker (``[]``: Rasa forgets it).

        Raises:
            BotUnavailable: Rasa did not replace them (down, no model loaded yet, or the
                HTTP API not enabled: a 404).
        """
        path = f"/conversations/{quote(conversation_id, safe='')}/tracker/events"
        try:
            response = await self._for(conversation_id).put(path, json=events,
                                                            params=self._auth)
        except httpx.HTTPError as exc:
            raise BotUnavailable(str(exc) or type(exc).__name__) from exc
        if response.status_code != 200:
            hint = API_HINTS.get(response.status_code, "")
            raise BotUnavailable(f"Rasa answered {response.status_code}{hint}")

    def _for(self, conversation_id: str) -> httpx.AsyncClient:
        return self._clients[server_for(conversation_id, self.servers)]

    async def healthy(self) -> bool:
        """Whether every Rasa server answers (each holds conversations of its own)."""
        return all(await asyncio.gather(*(self._server_healthy(c) for c in self._clients)))

    async def _server_healthy(self, client: httpx.AsyncClient) -> bool:
        try:
            response = await client.get("/status", params=self._auth, timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def actions_healthy(self) -> bool:
        """Whether the action server answers its health check (True when it is unknown)."""
        if self._actions_health is None:
            return True
        try:
            response = await self._clients[0].get(self._actions_health, timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def make_rasa_client(settings: GatewaySettings) -> RasaClient:
    token = settings.rasa_api_token
    return RasaClient(settings.rasa_url, settings.rasa_timeout_seconds,
                      api_token=token.get_secret_value() if token else None,
                      actions_url=settings.action_server_url,
                      identity_secret=settings.identity_secret.get_secret_value())
