"""Parts of the running service killed outright (SIGKILL) in the middle of a conversation,
against the real Rasa (trained model), action server, app and a redis-server of the test's
own: no message is lost, every turn is answered once and in order after recovery, and an
order the shopper confirmed is placed exactly once.

The action server reaches the commerce API through a relay of the test's own, so that it
can be killed at the worst moment of "yes, place the order": after the API placed the order
and before the action could tell Rasa.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from channels.chat import BOT_DOWN_APOLOGY
from tests.channels.redis_server import RedisServer
from tests.channels.web_chat import owner
from tests.e2e.stack import Stack, trained_rasa
from tests.e2e.test_bot_turns import fill_cart, say, wait_until

pytestmark = pytest.mark.e2e
SERVICE = {"Authorization": "Bearer change-me"}
HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


class Relay:
    """Relays HTTP calls to ``upstream``; while ``hold`` is set, the answer to a checkout
    is kept back (the order is placed upstream) until :meth:`release`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hold = False
        self.checkouts: list[tuple[str, int]] = []
        """``(path, upstream status)`` of every checkout relayed."""
        self.checkout_held = threading.Event()
        self._release = threading.Event()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

            def _relay(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_HEADERS}
                answer = httpx.request(self.command, f"{relay.upstream}{self.path}",
                                       headers=headers, content=body, timeout=60)
                if self.command == "POST" and self.path.endswith("/checkout"):
                    relay.checkouts.append((self.path, answer.status_code))
                    if relay.hold:
                        relay.checkout_held.set()
                        relay._release.wait(timeout=120)
                try:
                    self.send_response(answer.status_code)
                    for key, value in answer.headers.items():
                        if key.lower() not in HOP_HEADERS | {"content-encoding"}:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:  # the caller died meanwhile
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hold_checkouts(self) -> None:
        self.checkout_held.clear()
        self._release.clear()
        self.hold = True

    def checkouts_of(self, conversation: str) -> list[int]:
        return [status for path, status in self.checkouts
                if path == f"/api/shoppers/web/{conversation}/checkout"]

    def release(self) -> None:
        self.hold = False
        self._release.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()


@dataclass
class Faults:
    stack: Stack
    relay: Relay
    redis: RedisServer


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    rasa_bin, model = trained_rasa()
    workdir = tmp_path_factory.mktemp("faults")
    redis = RedisServer(workdir / "redis").start()  # its own port: never the shared one
    stack = Stack(workdir=workdir, rasa_bin=rasa_bin, model=model, redis_url=redis.url)
    relay = Relay(stack.app_url)
    stack.actions_api_url = f"{relay.url}/api"
    try:
        stack.start()
        yield Faults(stack, relay, redis)
    finally:
        stack.stop()
        relay.close()
        redis.stop()


@pytest.fixture(autouse=True)
def all_up_after(faults: Faults) -> Iterator[None]:
    """Whatever a test killed is running again for the next one, even if the test failed."""
    yield
    faults.relay.release()
    if faults.redis._process is None:
        faults.redis.start()
    if faults.stack.processes["actions"].poll() is not None:
        faults.stack.start_actions()
    if faults.stack.processes["rasa"].poll() is not None:
        faults.stack.start_rasa()


def new_conversation() -> str:
    return f"faults-{uuid.uuid4().hex[:8]}"


def history(stack: Stack, conversation: str) -> list[tuple[str, str]]:
    response = httpx.get(f"{stack.app_url}/api/chat/{conversation}/history",
                         headers=owner(conversation), timeout=30)
    if response.status_code != 200:
        return []
    return [(m["role"], m["text"]) for m in response.json()]


def orders(stack: Stack, conversation: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.app_url}/api/shoppers/web/{conversation}/orders",
                         headers=SERVICE, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def bot_answers(stack: Stack, conversation: str) -> list[str]:
    return [text for role, text in history(stack, conversation) if role == "bot"]


def answered_in_order(answers: list[str], expected: list[str]) -> bool:
    """Each turn's words are in exactly one of the bot's messages (a turn may have more
    than one), and those messages come in the order of the turns."""
    positions = []
    for words in expected:
        hits = [i for i, answer in enumerate(answers) if words in answer]
        if len(hits) != 1:
            return False
        positions.append(hits[0])
    return positions == sorted(positions)


CHECKOUT = [("checkout", "What email address"), ("ada@example.com", "Whose name"),
            ("Ada Lovelace", "Where should we send it?"),
            ("12 rue des Lilas, 75011 Paris, France", "Shall I place the order?"),
            ("yes", " is placed: ")]
"""A checkout, each message with words of its answer."""


def shopper_said(stack: Stack, conversation: str) -> list[str]:
    return [text for role, text in history(stack, conversation) if role == "shopper"]


def assert_placed_once(stack: Stack, conversation: str) -> None:
    placed = orders(stack, conversation)
    assert len(placed) == 1, placed
    confirmations = [t for t in bot_answers(stack, conversation) if " is placed: " in t]
    assert confirmations == [confirmations[0]]
    assert f"Order {placed[0]['number']} is placed" in confirmations[0]
    time.sleep(2)  # and nothing more comes
    assert len(orders(stack, conversation)) == 1
    assert len([t for t in bot_answers(stack, conversation) if " is placed: " in t]) == 1


def test_the_action_server_killed_mid_conversation(faults: Faults) -> None:
    stack, conversation = faults.stack, new_conversation()
    fill_cart(stack, conversation)
    # given a checkout under way
    (text, words) = CHECKOUT[0]
    assert words in say(stack, conversation, text)[-1][1]
    answered = len(bot_answers(stack, conversation))
    # when the action server is killed and the shopper goes on
    stack.kill_actions()
    try:
        for text, _ in CHECKOUT[1:3]:
            assert say(stack, conversation, text) == [("system", BOT_DOWN_APOLOGY)]
        time.sleep(3)  # retried every second: nothing may reach the bot meanwhile
        assert len(bot_answers(stack, conversation)) == answered
    finally:
        stack.start_actions()
    # then every message is answered once, in order, and the checkout goes on
    wait_until(lambda: answered_in_order(bot_answers(stack, conversation),
                                         [w for _, w in CHECKOUT[:3]]),
               "the late answers, in order")
    for text, words in CHECKOUT[3:]:
        assert words in say(stack, conversation, text)[-1][1]
    assert shopper_said(stack, conversation) == [t for t, _ in CHECKOUT]
    assert answered_in_order(bot_answers(stack, conversation), [w for _, w in CHECKOUT])
    assert_placed_once(stack, conversation)


def test_the_action_server_killed_right_at_yes_place_the_order(faults: Faults) -> None:
    stack, relay, conversation = faults.stack, faults.relay, new_conversation()
    fill_cart(stack, conversation)
    for text, words in CHECKOUT[:4]:
        assert words in say(stack, conversation, text)[-1][1]
    # when the shopper says yes and the action server dies once the order is placed,
    # before it could tell Rasa
    relay.hold_checkouts()
    answer: list[list[tuple[str, str]]] = []
    yes = threading.Thread(target=lambda: answer.append(say(stack, conversation, "yes")))
    yes.start()
    try:
        assert relay.checkout_held.wait(timeout=120), "the checkout never reached the API"
        stack.kill_actions()
    finally:
        relay.release()
    yes.join(timeout=120)
    # then the shopper is told to wait, and the order exists, unconfirmed
    assert answer == [[("system", BOT_DOWN_APOLOGY)]]
    assert relay.checkouts_of(conversation) == [201]
    assert len(orders(stack, conversation)) == 1
    # when the action server is back, the turn is replayed: it confirms that very order
    stack.start_actions()
    wait_until(lambda: any(" is placed: " in t for t in bot_answers(stack, conversation)),
               "the confirmation")
    # the replay got the order back (200) and placed nothing
    assert relay.checkouts_of(conversation) == [201, 200]
    assert shopper_said(stack, conversation) == [t for t, _ in CHECKOUT]
    assert answered_in_order(bot_answers(stack, conversation), [w for _, w in CHECKOUT])
    assert_placed_once(stack, conversation)


def test_rasa_killed_mid_checkout(faults: Faults) -> None:
    stack, conversation = faults.stack, new_conversation()
    fill_cart(stack, conversation)
    for text, words in CHECKOUT[:2]:
        assert words in say(stack, conversation, text)[-1][1]
    # when Rasa is killed and the shopper goes on
    stack.kill_rasa()
    try:
        for text, _ in CHECKOUT[2:4]:
            assert say(stack, conversation, text) == [("system", BOT_DOWN_APOLOGY)]
    finally:
        stack.start_rasa()
    # then the form goes on where it was (trackers persist), each message answered once
    wait_until(lambda: answered_in_order(bot_answers(stack, conversation),
                                         [w for _, w in CHECKOUT[:4]]),
               "the late answers, in order")
    assert "Email: ada@example.com" in bot_answers(stack, conversation)[-1]
    assert " is placed: " in say(stack, conversation, "yes")[-1][1]
    assert shopper_said(stack, conversation) == [t for t, _ in CHECKOUT]
    assert answered_in_order(bot_answers(stack, conversation), [w for _, w in CHECKOUT])
    assert_placed_once(stack, conversation)


def test_redis_killed_mid_conversation(faults: Faults) -> None:
    stack, redis, conversation = faults.stack, faults.redis, new_conversation()
    fill_cart(stack, conversation)
    for text, words in CHECKOUT[:2]:
        assert words in say(stack, conversation, text)[-1][1]
    # when Redis is killed and the shopper goes on, up to "yes"
    redis.kill()
    try:
        for text, _ in CHECKOUT[2:]:
            assert say(stack, conversation, text) == [("system", BOT_DOWN_APOLOGY)]
    finally:
        redis.start()
    # then once it is back every message reaches the bot once, in order, and the
    # confirmed order is placed once
    wait_until(lambda: answered_in_order(bot_answers(stack, conversation),
                                         [w for _, w in CHECKOUT]),
               "the late answers, in order")
    assert shopper_said(stack, conversation) == [t for t, _ in CHECKOUT]
    assert_placed_once(stack, conversation)
