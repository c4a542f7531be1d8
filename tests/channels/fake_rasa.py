"""A stand-in for Rasa's channel (bot/atelier_channel.py), ``/status`` and the HTTP API's
``PUT /conversations/<id>/tracker/events``, for gateway tests where the model is not the
point (delivery, limits, bot outages), served over real HTTP on a free port; it also
answers the action server's ``/health``.

Like the real channel it refuses (401) a message without a valid shopper assertion of the
gateway. It records every accepted request (sender, message, metadata with the verified
shopper, the turn's ``turn_id`` and ``request_id`` beside it; the bodies as sent in
``raw``; the replaced
tracker events), answers
``You said: <message>`` unless a canned answer is set for the message, and can be switched
down (503) and up, or its action server down (503 ``actions_unavailable``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions.shopper import UnverifiedShopper, verified_shopper
from channels.rasa_client import UNDERSTOOD_HEADER, WEBHOOK_PATH
from tests.e2e.stack import free_port


@dataclass
class FakeRasa:
    port: int = field(default_factory=free_port)
    up: bool = True
    actions_up: bool = True
    """False: every message is answered 503 ``actions_unavailable`` (nothing kept), as Rasa's
    channel answers while the action server is down, and ``/health`` answers 503."""
    delay: float = 0.0
    identity_secret: str = "change-me"
    """The gateway's default ``identity_secret``."""
    received: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    tried: list[dict[str, Any]] = field(default_factory=list)
    """Every body posted while up, accepted or not, as posted."""
    attempts: int = 0
    """Messages posted while up, accepted or not."""
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    echo_prefix: str = "You said: "
    not_understood: set[str] = field(default_factory=set)
    """Messages answered as a fallback (``X-Atelier-Understood: false``, as the real channel
    says of them); the others are said understood."""
    delays: dict[str, float] = field(default_factory=dict)
    """Seconds to wait before answering a message (besides ``delay``)."""
    status_checks: int = 0
    """How many times /status was asked while up."""
    replaced: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    """``(conversation id, events)`` of every tracker replaced while up."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def messages(self, sender: str | None = None) -> list[str]:
        with self._lock:
            return [r["message"] for r in self.received
                    if sender is None or r["sender"] == sender]

    async def _webhook(self, request: Request) -> JSONResponse:
        if not self.up:
            return JSONResponse({"error": "down"}, status_code=503)
        body = await request.json()
        with self._lock:
            self.attempts += 1
            self.tried.append(body)
        try:
            shopper = verified_shopper(body.get("metadata"), conversation_id=body["sender"],
                                       secret=self.identity_secret, now=time.time())
        except UnverifiedShopper as exc:
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=401)
        if not self.actions_up:
            return JSONResponse({"code": "actions_unavailable", "message": "down"},
                                status_code=503)
        with self._lock:
            self.raw.append(body)
            metadata = dict(body["metadata"])
            self.received.append({**body, "turn_id": metadata.pop("turn_id", None),
                                  "request_id": metadata.pop("request_id", None),
                                  "metadata": {**metadata, "shopper": {
                                      "channel": shopper.channel,
                                      "external_id": shopper.external_id}}})
        if self.delay or body["message"] in self.delays:
            await asyncio.sleep(self.delay + self.delays.get(body["message"], 0.0))
        header = {UNDERSTOOD_HEADER: "false" if body["message"] in self.not_understood
                  else "true"}
        canned = self.answers.get(body["message"])
        if canned is not None:
            return JSONResponse([{"recipient_id": body["sender"], **a} for a in canned],
                                headers=header)
        return JSONResponse([{"recipient_id": body["sender"],
                              "text": f"{self.echo_prefix}{body['message']}"}], headers=header)

    async def _replace_events(self, request: Request) -> JSONResponse:
        if not self.up:
            return JSONResponse({"error": "down"}, status_code=503)
        conversation_id, events = request.path_params["conversation_id"], await request.json()
        if not isinstance(events, list):
            return JSONResponse({"status": "failure", "code": 400}, status_code=400)
        with self._lock:
            self.replaced.append((conversation_id, events))
        return JSONResponse({"sender_id": conversation_id, "events": events, "slots": {}})

    def wiped(self) -> list[str]:
        """Conversations whose tracker was replaced with no events."""
        with self._lock:
            return [c for c, events in self.replaced if events == []]

    async def _status(self, request: Request) -> JSONResponse:
        if not self.up:
            return JSONResponse({"error": "down"}, status_code=503)
        self.status_checks += 1
        return JSONResponse({"model_file": "stand-in.tar.gz", "num_active_training_jobs": 0})

    async def _actions_health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok" if self.actions_up else "down"},
                            status_code=200 if self.actions_up else 503)

    def start(self) -> FakeRasa:
        app = Starlette(routes=[Route(WEBHOOK_PATH, self._webhook, methods=["POST"]),
                                Route("/status", self._status),
                                Route("/health", self._actions_health),
                                Route("/conversations/{conversation_id:path}/tracker/events",
                                      self._replace_events, methods=["PUT"])])
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        threading.Thread(target=self._server.run, daemon=True).start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Rasa stand-in did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


def wait_for(check: Any, timeout: float = 15.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)
