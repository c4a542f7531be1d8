"""The widget in Debian's Firefox ESR, held to what the Chromium tests check: the one-tag
embed on the demo page, Enter to send, the bot's reply with quick replies, product cards
(picture, price, buttons), the conversation restored once after a reload, a phone-width
screen, a dropped connection caught up without duplicates.

Firefox is driven over WebDriver BiDi by puppeteer-core (``firefox/widget.cjs``); the
script reports what it saw as JSON and the assertions are made here. The app is the real
gateway over HTTP with the Rasa stand-in answering with the bot's own greeting and the
discovery action's cards (the model is not what differs between browsers).
"""

from __future__ import annotations

import csv
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from actions.clients import SearchHit
from actions.discovery import product_card
from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from tests.channels.fake_rasa import FakeRasa
from tests.channels.live_app import LiveApp
from tests.conftest import DEMO_CATALOG, REPO, _clean
from tests.e2e.stack import free_port

pytestmark = [pytest.mark.browser]
FIREFOX = "/usr/bin/firefox-esr"
SCRIPT = Path(__file__).parent / "firefox" / "widget.cjs"
PHONE = {"width": 375, "height": 740}
CARD_BUTTONS = ["Tell me more", "Personalise", "Add to cart"]
RUN_TIMEOUT = 180.0


def greeting() -> dict[str, Any]:
    """The bot's ``utter_greet``, as its domain defines it."""
    domain = yaml.safe_load((REPO / "bot" / "domain" / "shopping.yml").read_text())
    return domain["responses"]["utter_greet"][0]


def mug_cards() -> list[dict[str, Any]]:
    """Cards of the demo catalog's first three mugs, built by the discovery action."""
    with DEMO_CATALOG.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if "type:mug" in r["attributes"].split("|")][:3]
    return [product_card(SearchHit(
        id=i, sku=r["sku"], name=r["name"], category=r["category"], price=Decimal(r["price"]),
        currency=r["currency"], image_url=r["image_url"], in_stock=True, score=1.0,
        attributes=dict(a.split(":", 1) for a in r["attributes"].split("|"))))
        for i, r in enumerate(rows, start=1)]


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    """SQLite only: the database is not what differs between browsers."""
    _clean(sqlite_engine)
    yield sqlite_engine
    _clean(sqlite_engine)


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    stand_in = FakeRasa().start()
    mugs = [{"text": "Here are some pieces you might like:"}, {"custom": {"cards": mug_cards()}}]
    stand_in.answers.update({"hi": [greeting()], "show me ceramic mugs": mugs})
    yield stand_in
    stand_in.stop()


@pytest.fixture
def gateway(demo_catalog: sessionmaker[Session], tmp_path: Path,
            rasa: FakeRasa) -> Iterator[Callable[..., LiveApp]]:
    """``gateway(**settings)``: the real app served on a local port (stopped afterwards)."""
    started: list[LiveApp] = []

    def start(**settings: Any) -> LiveApp:
        port = free_port()
        config = GatewaySettings(rasa_url=rasa.url, warm_search_on_start=False,
                                 public_url=f"http://127.0.0.1:{port}", **settings)
        live = LiveApp(lambda: create_app(config, session_factory=demo_catalog,
                                          knowledge_settings=KnowledgeSettings(data_dir=tmp_path)),
                       port)
        started.append(live.start())
        return live

    yield start
    for live in started:
        live.stop()


def _read_lines(stream: IO[str], into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def run_firefox(scenario: str, url: str,
                on_pause: dict[str, Callable[[], object]] | None = None) -> dict[str, Any]:
    """Run one scenario of ``widget.cjs`` in headless Firefox and return what it saw.

    The script may pause for the test to act on the server (``on_pause[name]()``); any
    missing prerequisite, time-out or error in the page fails the test with the details.
    """
    node = shutil.which("node")
    modules = os.environ.get("ATELIER_TEST_NODE_MODULES", "")
    missing = [what for what, ok in [
        (f"Firefox at {FIREFOX} (Debian's firefox-esr)", os.access(FIREFOX, os.X_OK)),
        ("Node.js ('node' on PATH)", node is not None),
        (f"puppeteer-core in ATELIER_TEST_NODE_MODULES={modules!r}",
         bool(modules) and (Path(modules) / "puppeteer-core").is_dir()),
    ] if not ok]
    if missing or node is None:
        pytest.fail(f"The Firefox widget test needs {', '.join(missing)}: run it with "
                    "'make test' (scripts/setup.sh browser installs them).", pytrace=False)
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen([node, str(SCRIPT), scenario, url, FIREFOX], text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                   env={**os.environ, "NODE_PATH": modules})
        assert process.stdin is not None and process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()  # read in a thread, so waits can time out
        threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + RUN_TIMEOUT
        seen: dict[str, Any] | None = None
        try:
            while seen is None:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                message = json.loads(line)
                if "pause" in message:
                    (on_pause or {})[message["pause"]]()
                    process.stdin.write("\n")
                    process.stdin.flush()
                else:
                    seen = message
        except (json.JSONDecodeError, KeyError) as exc:
            seen = {"error": f"unexpected output from widget.cjs: {exc!r}"}
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            stderr.seek(0)
            log = stderr.read()[-3000:]
    if seen is None:
        pytest.fail(f"widget.cjs gave no result within {RUN_TIMEOUT}s (exit "
                    f"{process.returncode}):\n{log}", pytrace=False)
    if "error" in seen:
        pytest.fail(f"Firefox ({seen.get('browser')}): {seen['error']}\n"
                    f"on screen: {seen.get('screen')}\n{log}", pytrace=False)
    assert seen["page_errors"] == [], "the widget raised in Firefox"
    return seen


def assert_in_order_once(shown: list[list[Any]]) -> None:
    seqs = [seq for seq, _, _ in shown]
    assert seqs == sorted(set(seqs)), f"duplicates or disorder: {seqs}"


def test_shopper_greets_picks_a_quick_reply_and_sees_mug_cards_in_firefox(
        gateway: Callable[..., LiveApp], rasa: FakeRasa) -> None:
    live = gateway()
    # when a shopper chats on the demo page in Firefox
    seen = run_firefox("conversation", live.url)
    # then the page embeds the widget with one tag, and it opens
    assert "Atelier Demo Studio" in seen["title"]
    assert seen["widget_tags"] == 1
    assert seen["panel_opened"]
    # Enter sends and clears the input; the bot's reply comes with its quick replies
    assert seen["input_after_enter"] == ""
    assert "welcome" in seen["welcome"]
    assert seen["quick_replies"] == [b["title"] for b in greeting()["buttons"]]
    # a quick reply sends its payload, is shown with its title, and the row goes away
    assert seen["quick_replies_after_answer"] == 0
    shopper = [text for _, role, text in seen["before_reload"] if role == "shopper"]
    assert [t.removeprefix("You: ") for t in shopper[:2]] == ["hi", "Ceramic mugs"]
    # the cards show each mug's name, price in euros, picture and buttons
    expected = mug_cards()
    assert [c["name"] for c in seen["cards"]] == [c["name"] for c in expected]
    assert [c["price"] for c in seen["cards"]] == [f"€{c['price']}" for c in expected]
    for card, shown in zip(seen["cards"], expected, strict=True):
        assert "Mug" in card["name"]
        assert card["buttons"] == CARD_BUTTONS, card
        assert card["image"]["src"].endswith(shown["image_url"]), card
        assert shown["image_url"].startswith("/static/img/products/"), shown
    assert seen["cards"][0]["image"]["loaded"], "the first card's picture did not load"
    # a card's button sends its payload
    assert expected[0]["buttons"][0]["payload"] in seen["card_button_answer"]
    assert_in_order_once(seen["before_reload"])
    # and after a reload the same conversation is on screen, each message once
    assert seen["after_reload"] == seen["before_reload"]
    assert seen["cards_after_reload"][0]["name"] == seen["cards"][0]["name"]
    assert len([m for m in seen["after_reload"] if m[1] == "shopper"]) == 3
    assert seen["pending_after_reload"] == 0
    assert rasa.messages() == ["hi", "show me ceramic mugs", expected[0]["buttons"][0]["payload"]]
    # the conversation's secret (256 bits) stayed out of the socket's URL, and only it
    # opens the conversation's history
    secret = seen["secret"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert seen["socket_urls"] and all(secret not in u for u in seen["socket_urls"])
    assert all(seen["conversation_id"] in u for u in seen["socket_urls"])
    history = f"{live.url}/api/chat/{seen['conversation_id']}/history"
    assert httpx.get(history, timeout=30).status_code == 403
    mine = httpx.get(history, headers={"X-Conversation-Secret": secret}, timeout=30)
    assert [m["text"] for m in mine.json() if m["role"] == "shopper"][0] == "hi"


def test_the_widget_fits_a_phone_width_screen_in_firefox(
        gateway: Callable[..., LiveApp]) -> None:
    seen = run_firefox("phone", gateway().url)
    width, height = PHONE["width"], PHONE["height"]
    assert seen["viewport"] == PHONE
    panel = seen["panel"]
    assert panel["x"] >= 0 and panel["width"] <= width
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= height
    for selector, box in seen["boxes"].items():
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)
        assert box["y"] + box["height"] <= height, (selector, box)
    assert seen["scroll_width"] <= width
    assert seen["input_font_size"] == "16px"  # smaller text makes phones zoom the page on focus


def test_a_dropped_connection_catches_up_in_order_without_duplicates_in_firefox(
        gateway: Callable[..., LiveApp], rasa: FakeRasa, redis_url: str,
        redis_prefix: str) -> None:
    live = gateway(redis_url=redis_url, redis_prefix=redis_prefix)
    # given the gateway goes away while the shopper types, and comes back (a new process)
    seen = run_firefox("reconnect", live.url,
                       on_pause={"stop_gateway": live.stop, "start_gateway": live.start})
    # then the waiting message was shown as pending, then sent once and answered
    assert "Reconnecting" in seen["status_while_down"]
    assert all("/ws/chat" in e for e in seen["page_errors_while_down"]), "not only failed sockets"
    assert seen["pending_while_down"] == 1
    assert seen["status_after"] == ""
    assert_in_order_once(seen["before_reload"])
    texts = [text for _, _, text in seen["before_reload"]]
    assert sum("are you there?" in t for t in texts) == 2  # the message and its echo
    assert rasa.messages(seen["conversation_id"]) == ["hello", "are you there?"]
    # and after a reload the same conversation is on screen, each message once
    assert seen["after_reload"] == seen["before_reload"]
