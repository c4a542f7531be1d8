"""Rasa's calls of the action server (bot/atelier_action_calls.py), between Rasa 3.6 and a
real rasa-sdk action server: the domain goes with a call only until the action server
holds it, every action still runs with the whole domain, also after the action server
restarted (and forgot it), and the calls share one kept connection.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.bot.rasa_venv import BOT, in_rasa, rasa_env, rasa_python
from tests.e2e.stack import free_port

REPO = Path(__file__).resolve().parents[2]
FORMS = "checkout_form,customization_form,preferences_form,review_form"
"""The forms of bot/domain, as the echo action reads them from the domain it was given."""

CALLS = """
import asyncio, json, sys
import aiohttp
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from atelier_channel import AtelierInput

AtelierInput("identity-secret-for-tests")  # sets Rasa up as the running server has it
domain = Domain.load("domain")
endpoint = EndpointConfig(url=sys.argv[1])
sent, connections = [], []
request, connect = EndpointConfig.request, aiohttp.TCPConnector._create_connection

async def recording_request(self, **kwargs):
    sent.append("domain" in kwargs["json"])
    return await request(self, **kwargs)

async def counting_connect(self, *args, **kwargs):
    connections.append(1)
    return await connect(self, *args, **kwargs)

EndpointConfig.request = recording_request
aiohttp.TCPConnector._create_connection = counting_connect

async def call():
    tracker = DialogueStateTracker.from_events("c", [
        ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet"})], domain.slots)
    events = await RemoteAction("action_domain_echo", endpoint).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses),
        tracker, domain)
    return [e.value for e in events if getattr(e, "key", None) == "search_text"][0]

async def phase(calls):
    sent.clear(); connections.clear()
    echoed = [await call() for _ in range(calls)]
    print(json.dumps({"echoed": echoed, "sent_domain": sent,
                      "connections": len(connections)}), flush=True)

async def main():
    await phase(3)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await phase(2)

asyncio.run(main())
"""


@contextmanager
def action_server(port: int) -> Iterator[None]:
    """rasa-sdk serving tests/bot/domain_echo_actions.py on ``port``."""
    server = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "tests.bot.domain_echo_actions",
         "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)},
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the action server did not start")
            time.sleep(0.3)
        yield
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def test_the_domain_goes_once_per_action_server_and_every_action_has_it() -> None:
    port = free_port()
    rasa = subprocess.Popen([rasa_python(), "-c", CALLS, f"http://127.0.0.1:{port}/webhook"],
                            cwd=BOT, env=rasa_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert rasa.stdin is not None and rasa.stdout is not None
    try:
        with action_server(port):
            first = json.loads(rasa.stdout.readline() or "{}")
        with action_server(port):  # restarted: it holds no domain
            rasa.stdin.write("\n")
            rasa.stdin.flush()
            second = json.loads(rasa.stdout.readline() or "{}")
    finally:
        rasa.kill()
        _, errors = rasa.communicate(timeout=30)
    # given: three calls. then: the domain went with the first only, each action had
    # it, and the three calls went over one connection
    assert first == {"echoed": [FORMS] * 3, "sent_domain": [True, False, False],
                     "connections": 1}, errors[-3000:]
    # given: the action server restarted. then: the call without the domain is refused
    # (449) and sent again with it, the next one goes without; each action had it
    assert second == {"echoed": [FORMS] * 2, "sent_domain": [False, True, False],
                      "connections": 1}, errors[-3000:]


SAME_TEXT = """
import asyncio, json, sys
from aiohttp import web
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
import atelier_action_calls

atelier_action_calls.install()
domain = Domain.load("domain")
bodies = []

async def webhook(request):
    bodies.append(await request.read())
    return web.json_response({"events": [], "responses": []})

def said(text, confidence):
    ranking = [{"name": "search_product", "confidence": confidence},
               {"name": "inform", "confidence": (1 - confidence) / 3}]
    return UserUttered(text, ranking[0], [{"entity": "colour", "start": 0, "end": 4,
                                           "value": "blue", "confidence": 0.1 + 0.2}],
                       parse_data={"intent": ranking[0], "intent_ranking": ranking,
                                   "text_tokens": [[0, 4]]})

async def main():
    runner = web.AppRunner(web.Application())
    runner.app.router.add_post("/webhook", webhook)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(sys.argv[1])).start()
    action = RemoteAction("action_search",
                          EndpointConfig(url=f"http://127.0.0.1:{sys.argv[1]}/webhook"))
    events = [ActionExecuted("action_listen")]
    same = []
    for i, text in enumerate(["blue mugs", "Grüße, une tasse à 12,50 € ?", "\\\\u00e9 / \\"ok\\"",
                              "😀 " * 3, "1e309 " + "x" * 2000]):
        events += [said(text, 1 / (i + 3)), ActionExecuted("action_search"),
                   SlotSet("budget", 12.5 * i), SlotSet("colour", ["blue", "bleu"]),
                   BotUttered(text, {"elements": [{"price": 12.5}]}),
                   ActionExecuted("action_listen")]
        tracker = DialogueStateTracker.from_events("c", events, domain.slots)
        expected = json.dumps(action._action_call_format(tracker, domain)).encode()
        await action.run(CollectingOutputChannel(),
                         TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain)
        same.append(bodies[-1] == expected)
    await atelier_action_calls.close_sessions(action.action_endpoint)
    await runner.cleanup()
    print(json.dumps({"same": same, "bytes": [len(body) for body in bodies]}))

asyncio.run(main())
"""


def test_a_call_carries_the_very_text_json_dumps_writes() -> None:
    # given: conversations with floats, non-ASCII text, escapes, long messages
    found = in_rasa(SAME_TEXT, str(free_port()))
    # then: each call's body is the text Rasa's own encoding gives, byte for byte
    assert found["same"] == [True] * 5, found
    assert min(found["bytes"]) > 1000, found
