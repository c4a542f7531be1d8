"""Rasa's channel for the gateway: signed turns, kept only when the action server answered.

Configured in credentials.yml as ``atelier_channel.AtelierInput`` (``rasa run`` imports it
from the bot directory); the gateway posts ``{"sender", "message", "metadata"}`` to
``/webhooks/atelier/webhook`` and gets Rasa's answers as the REST channel gives them.
It differs from the REST channel in three ways.

Who speaks: a message whose metadata lacks a valid shopper assertion of the gateway for
this conversation (channels/assertion.py, checked by atelier_identity.py) is refused with
401, so a caller who reaches Rasa directly cannot speak for a customer.

A turn is all or nothing: Rasa 3.6 runs a custom action it cannot reach by logging the
exception and going on without the action's events (``MessageProcessor._run_action``: "Bot
will continue, but the actions events are lost"), then saves the turn. "Yes, place the
order" would then be consumed without an order, and a later resend would land in another
state. Here the turn runs as ``Agent.handle_message`` runs it, under the conversation's
lock, but its tracker is saved only if no action failed for want of the action server
(refused connection, dropped connection, time-out, 502/503/504). Otherwise nothing of the
turn is kept and the gateway is told 503 ``actions_unavailable``: it keeps the message and
sends it again once the action server is back, into the very state it was first sent to.

The failure is seen where Rasa reports it: the processor logs the exception from inside
the task that runs the turn, so a logging handler on ``rasa.core.processor`` hands it to
the turn through a context variable (set only while this channel runs a turn).

The channel also makes Rasa 3.6.21 spend less per turn (:func:`speed_up_rasa`): the domain
sent to the action server once and the connections kept (atelier_action_calls.py), its
answers checked faster (atelier_action_results.py), events read without listing their
classes again (atelier_events.py), the model's graph run without dask's scheduler
(atelier_graph.py), the domain's emptiness asked once per parse's processor
(atelier_parse.py), the rules matched against no more of the conversation than they span
(atelier_policies.py), and a conversation's states worked out once per prediction for all
policies (atelier_states.py). Each replaces a piece of Rasa 3.6.21 with the same results;
another version of Rasa runs without them.

Whether the bot understood: the answer says so in its ``X-Atelier-Understood`` header
(``false`` when the message's intent is ``nlu_fallback`` or a fallback action answered
it), for the gateway's figures of misunderstood messages.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import aiohttp
import rasa
import threadpoolctl
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import atelier_action_calls
import atelier_action_results
import atelier_events
import atelier_graph
import atelier_parse
import atelier_policies
import atelier_states
from atelier_identity import AssertionRefused, verify_shopper

logger = logging.getLogger(__name__)
PLACEHOLDER_SECRET = "change-me"
MIN_SECRET_CHARS = 16
MAX_SENDER_CHARS = 128
TURN_STEPS = ("log_message", "run_action_extract_slots", "_run_prediction_loop",
              "run_anonymization_pipeline", "save_tracker")
"""The steps of ``MessageProcessor.handle_message`` in Rasa 3.6, which a turn runs itself."""
UNREACHABLE_STATUSES = frozenset({502, 503, 504})
"""Answers of a proxy in front of a down action server; any other error status means the
action server ran the request (and failed on its own), which a resend would not change."""
SPED_UP_RASA = "3.6.21"
UNDERSTOOD_HEADER = "X-Atelier-Understood"
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_fallback", "action_default_fallback",
                              "action_two_stage_fallback"})


class _Turn:
    """What the running turn learnt from Rasa's logs."""

    def __init__(self) -> None:
        self.actions_unreachable: Optional[str] = None
        self.understood = True


def understood(tracker: DialogueStateTracker) -> bool:
    """Whether the bot understood the latest message: its intent is not ``nlu_fallback``
    and no fallback action answered it (the core fallback of an unforeseen turn)."""
    if (tracker.latest_message.intent or {}).get("name") == FALLBACK_INTENT:
        return False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name in FALLBACK_ACTIONS:
            return False
    return True


_TURN: contextvars.ContextVar[Optional[_Turn]] = contextvars.ContextVar(
    "atelier_turn", default=None)


def action_server_unreachable(exc: Optional[BaseException]) -> bool:
    """Whether an action failed because the action server did not answer it (Rasa wraps
    the network error in a ``RasaException``: the cause chain is followed)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        status = getattr(exc, "status", None)
        if isinstance(exc, aiohttp.ClientError) and isinstance(status, int):
            return status in UNREACHABLE_STATUSES
        if isinstance(exc, (aiohttp.ClientConnectionError, asyncio.TimeoutError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class _ActionFailures(logging.Handler):
    """Notes on the running turn an action the processor could not get answered."""

    def emit(self, record: logging.LogRecord) -> None:
        turn = _TURN.get()
        if turn is not None and record.exc_info and action_server_unreachable(
                record.exc_info[1]):
            turn.actions_unreachable = record.getMessage()


def _watch_action_failures() -> None:
    processor_log = logging.getLogger("rasa.core.processor")
    if not any(isinstance(h, _ActionFailures) for h in processor_log.handlers):
        processor_log.addHandler(_ActionFailures(level=logging.ERROR))
    if not processor_log.isEnabledFor(logging.ERROR):  # a log level that hides errors
        processor_log.setLevel(logging.ERROR)          # must not hide them from the turn


def one_blas_thread() -> None:
    """Limits OpenBLAS (numpy's matrix products in the NLU) to one thread: a Rasa process
    works on one message at a time, and the second thread OpenBLAS wakes for a product
    spins while it waits, 2-5 ms of CPU per parse that the other Rasa process needs (make
    run and compose run one Rasa process per core)."""
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")


def speed_up_rasa() -> None:
    """Installs the replacements of pieces of Rasa that were checked against Rasa
    :data:`SPED_UP_RASA` only (tests/bot)."""
    if rasa.__version__ != SPED_UP_RASA:
        logger.warning("Rasa %s is not %s: its calls of the action server, events and "
                       "rules run as Rasa has them (slower)", rasa.__version__, SPED_UP_RASA)
        return
    atelier_action_results.install()
    atelier_action_calls.install()
    atelier_events.install()
    atelier_graph.install()
    atelier_parse.install()
    atelier_policies.install()
    atelier_states.install()


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
        missing = [step for step in TURN_STEPS if not hasattr(MessageProcessor, step)]
        if missing:  # another Rasa version: refuse to start rather than fail every turn
            raise RasaException(f"The atelier channel needs MessageProcessor.{missing[0]} "
                                "(Rasa 3.6).")
        self.identity_secret = identity_secret
        _watch_action_failures()
        one_blas_thread()
        speed_up_rasa()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                  ) -> Blueprint:
        # on_new_message is Agent.handle_message; a turn here runs its steps itself, to
        # save the tracker only when the turn is whole.
        webhook = Blueprint("atelier_webhook", __name__)

        @webhook.listener("after_server_stop")
        async def close_action_sessions(app: Any, _loop: Any) -> None:
            agent = app.ctx.agent
            await atelier_action_calls.close_sessions(
                agent.action_endpoint if agent is not None else None)

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
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return _error(503, "bot_not_ready", "The bot has no model loaded yet.")
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, input_channel=self.name(),
                                  metadata=metadata)
            try:
                turn = await self._run_turn(agent, message)
            except Exception:  # as Rasa's REST channel: what was said so far is answered
                logger.exception("the turn of %s failed", sender)
                return response.json(collector.messages)
            if turn.actions_unreachable is not None:
                logger.warning("turn of %s not kept, the action server did not answer: %s",
                               sender, turn.actions_unreachable)
                return _error(503, "actions_unavailable",
                              "The action server could not be reached; nothing of this "
                              "message was kept. Send it again once it is back.")
            return response.json(collector.messages, headers={
                UNDERSTOOD_HEADER: "true" if turn.understood else "false"})

        return webhook

    @staticmethod
    async def _run_turn(agent: Any, message: UserMessage) -> _Turn:
        """``Agent.handle_message`` (Rasa 3.6), saving the tracker only when no action
        failed for want of the action server; returns that failure, if any, and whether
        the bot understood the message."""
        turn = _Turn()
        token = _TURN.set(turn)
        try:
            async with agent.lock_store.lock(message.sender_id):
                processor = agent.processor
                tracker = await processor.log_message(message, should_save_tracker=False)
                tracker = await processor.run_action_extract_slots(message.output_channel,
                                                                   tracker)
                await processor._run_prediction_loop(message.output_channel, tracker)
                await processor.run_anonymization_pipeline(tracker)
                turn.understood = understood(tracker)
                if turn.actions_unreachable is None:
                    await processor.save_tracker(tracker)
        finally:
            _TURN.reset(token)
        return turn
