"""Actions run under the request id of their turn and send it with their API calls."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import uvicorn
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions.clients import CommerceClient
from actions.common import in_turn
from actions.config import ActionSettings
from commerce_core.observability.logs import request_id
from tests.e2e.stack import free_port


def tracker_with(metadata: dict[str, Any]) -> Tracker:
    return Tracker("web-1", {}, {"text": "hi", "metadata": metadata}, [], False, None, {},
                   "action_listen")


class AskTheApi(Action):
    def __init__(self, client: CommerceClient) -> None:
        self.client = client

    def name(self) -> str:
        return "action_ask_the_api"

    @in_turn
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        await self.client._request("GET", "/health")
        return []


def test_the_turns_request_id_goes_with_the_actions_api_calls() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-Request-ID"))
        return httpx.Response(200, json={"status": "ok"})

    client = CommerceClient(ActionSettings(), transport=httpx.MockTransport(answer))
    action = AskTheApi(client)
    for metadata in ({"request_id": "turn-0123456789"}, {"request_id": "bad id\n"}, {}):
        asyncio.run(action.run(CollectingDispatcher(), tracker_with(metadata), {}))
    assert seen[0] == "turn-0123456789"
    assert seen[1] is not None and seen[1] != "bad id\n" and len(seen[1]) == 32
    assert seen[2] is not None and seen[2] != seen[1]
    assert request_id.get() is None  # each run set it in its own context only


def test_the_calls_of_a_turns_actions_share_one_connection_to_the_api() -> None:
    ports: list[int] = []

    async def health(request: Request) -> JSONResponse:
        assert request.client is not None
        ports.append(request.client.port)
        return JSONResponse({"status": "ok"})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/api/health", health)]),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    try:
        settings = ActionSettings(api_url=f"http://127.0.0.1:{port}/api")
        # two actions of a turn, each with its client, as the action server has them
        clients = [CommerceClient(settings), CommerceClient(settings)]

        async def turn() -> None:
            for n in range(3):
                await clients[n % 2]._request("GET", "/health")

        asyncio.run(turn())
        asyncio.run(turn())  # another event loop: connections of its own
    finally:
        server.should_exit = True
    assert len(ports) == 6
    assert len(set(ports[:3])) == 1 and len(set(ports[3:])) == 1
