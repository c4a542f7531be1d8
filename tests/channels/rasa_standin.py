"""A local HTTP server answering Rasa's REST webhook, for gateway tests that need no model.

It answers the way a Rasa bot with the handoff action does (contract 3): ``/request_human``
gets a text plus a separate ``{"custom": {"handoff": ...}}`` output, ``/handback`` gets
"I'm back", anything else an echo. Every call is recorded, so a test can check that the
bot was not asked while an agent held the conversation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.e2e.stack import free_port

HANDOFF_TEXT = "I'll ask a person from the shop to join."
BACK_TEXT = "I'm back. What can I do for you?"


@dataclass
class RasaStandIn:
    port: int = field(default_factory=free_port)
    calls: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def messages_of(self, sender: str) -> list[str]:
        with self._lock:
            return [c["message"] for c in self.calls if c.get("sender") == sender]

    def start(self) -> RasaStandIn:
        app = Starlette(routes=[Route("/webhooks/rest/webhook", self._webhook,
                                      methods=["POST"])])
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

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self._lock:
            self.calls.append(body)
        sender, message = body.get("sender"), body.get("message", "")
        if message == "/request_human":
            return JSONResponse([
                {"recipient_id": sender, "text": HANDOFF_TEXT},
                {"recipient_id": sender, "custom": {"handoff": {
                    "reason": "shopper_request", "summary": "Asked for a person"}}}])
        if message == "/handback":
            return JSONResponse([{"recipient_id": sender, "text": BACK_TEXT}])
        return JSONResponse([{"recipient_id": sender, "text": f"echo: {message}"}])
