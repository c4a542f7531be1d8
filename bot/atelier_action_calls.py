"""Cheaper calls of the action server by Rasa 3.6: the domain once, the connections kept.

Rasa 3.6 (``RemoteAction.run``) sends the whole domain (about 60 kB of JSON here) with
every custom action it runs, and opens a new HTTP session, so a new connection, for each
call; a turn runs two to four custom actions. Serialising the domain, connecting, and the
action server's parsing of the domain were a third of what the two spent per call.

:func:`install` changes that, for Rasa 3.6 with rasa-sdk 3.8 or later (the action
server's ``domain_digest`` protocol; requirements/app.txt pins rasa-sdk 3.21):

- Each call carries the domain's digest (SHA-256 of its JSON) and the domain itself only
  until the action server at that URL has answered a call that carried it. rasa-sdk keeps
  the last domain it was sent and runs a call without one against it when the digests
  match; otherwise it answers 449, and the call is sent again with the domain (the action
  did not run). A new model (another domain), an action server restarted, or a replica
  behind the same URL that never saw the domain costs one call sent twice, never an
  action run with another domain.
- The calls of one event loop share one HTTP session, so their connections are kept
  open between calls. aiohttp drops a connection idle for :data:`KEEP_ALIVE_SECONDS`,
  well before rasa-sdk's server does (120 s), so a call is never sent on a connection
  the server is closing.
- The session writes a call's JSON as ``json.dumps`` does, the same text, without its
  check for circular references (the state of a conversation is made of plain values
  and has none): a tenth less CPU for the encoding of the conversation, which every
  call carries whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import aiohttp
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import EventVerbosity
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

logger = logging.getLogger(__name__)

DOMAIN_MISSING_STATUS = 449
"""rasa-sdk's answer to a call without a domain when it holds no domain of that digest."""
KEEP_ALIVE_SECONDS = 15.0

_domain_cache: tuple[Domain, dict[str, Any], str] | None = None
_holders: set[tuple[str | None, str]] = set()
"""(action server URL, domain digest) of the action servers known to hold the domain."""
_original_run = RemoteAction.run
_to_json = json.JSONEncoder(check_circular=False).encode


def domain_and_digest(domain: Domain) -> tuple[dict[str, Any], str]:
    """The domain as Rasa sends it, and its digest; computed once per domain (model)."""
    global _domain_cache
    if _domain_cache is None or _domain_cache[0] is not domain:
        as_dict = domain.as_dict()
        digest = hashlib.sha256(json.dumps(as_dict, sort_keys=True, default=str)
                                .encode()).hexdigest()
        _domain_cache = (domain, as_dict, digest)
    return _domain_cache[1], _domain_cache[2]


def _url(action: RemoteAction) -> str | None:
    return action.action_endpoint.url if action.action_endpoint else None


def _action_call_format(self: RemoteAction, tracker: Any, domain: Domain) -> dict[str, Any]:
    """Rasa's call, with the domain's digest, and the domain only for an action server
    not known to hold it."""
    as_dict, digest = domain_and_digest(domain)
    call = {"next_action": self.name(), "sender_id": tracker.sender_id,
            "tracker": tracker.current_state(EventVerbosity.ALL),
            "version": rasa.__version__, "domain_digest": digest}
    if (_url(self), digest) not in _holders:
        call["domain"] = as_dict
    return call


def _domain_missing(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(cause, ClientResponseError) and cause.status == DOMAIN_MISSING_STATUS


async def _run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
               domain: Domain) -> list[Any]:
    _keep_session(self.action_endpoint)
    key = (_url(self), domain_and_digest(domain)[1])
    try:
        events = await _original_run(self, output_channel, nlg, tracker, domain)
    except RasaException as exc:
        if not _domain_missing(exc):
            raise
        logger.info("the action server at %s lacks the domain: '%s' sent again with it",
                    key[0], self.name())
        _holders.discard(key)
        events = await _original_run(self, output_channel, nlg, tracker, domain)
    _holders.add(key)
    return events


class _KeptSession:
    """``async with endpoint.session()`` that leaves the shared session open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _keep_session(endpoint: EndpointConfig | None) -> None:
    """Makes ``endpoint.request`` (``async with self.session()``) use one session per
    event loop, the one :func:`_kept` opens, instead of a new one per request."""
    if endpoint is not None and "session" not in vars(endpoint):
        endpoint.session = lambda: _KeptSession(_kept(endpoint))  # type: ignore[method-assign]


def _kept(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    session: aiohttp.ClientSession | None = getattr(endpoint, "_atelier_session", None)
    if session is None or session.closed or getattr(endpoint, "_atelier_loop", None) is not loop:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"],
                                  endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(
            headers=endpoint.headers, auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS))
        endpoint._atelier_session = session  # type: ignore[attr-defined]
        endpoint._atelier_loop = loop  # type: ignore[attr-defined]
    return session


async def close_sessions(endpoint: EndpointConfig | None) -> None:
    """Closes the session kept for ``endpoint`` (at the server's stop)."""
    session = getattr(endpoint, "_atelier_session", None)
    if session is not None and not session.closed:
        await session.close()


def install() -> None:
    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
    RemoteAction.run = _run  # type: ignore[method-assign]
