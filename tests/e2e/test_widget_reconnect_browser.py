"""The widget in headless Chromium against the real app over HTTP, with a local stand-in for
Rasa's REST channel (the model is not the point here): the gateway restarts while the
shopper waits, a payment is confirmed meanwhile, and the widget catches up in order without
duplicates; buttons, cards and the payment link; a phone-width screen; a signed customer."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from channels.identity import sign_customer_token
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from tests.channels.fake_rasa import FakeRasa
from tests.channels.live_app import LiveApp
from tests.channels.test_notify import SERVICE, place_order
from tests.conftest import _clean
from tests.e2e.stack import free_port

pytestmark = [pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
SECRET = "widget-secret-for-tests"
MUG = {"id": 1, "sku": "CER-MUG-001", "name": "Blue Speckled Mug", "price": "24.00",
       "currency": "EUR", "image_url": "/static/img/placeholder/default.svg",
       "buttons": [{"title": "Tell me more", "payload": "/product_details"}]}


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    _clean(sqlite_engine)
    yield sqlite_engine
    _clean(sqlite_engine)


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa().start()
    rasa.answers["show me mugs"] = [{"text": "Here are some mugs:",
                                     "buttons": [{"title": "Cheaper", "payload": "/refine"}]},
                                    {"custom": {"cards": [MUG]}}]
    yield rasa
    rasa.stop()


class Shop:
    """One shop deployment: settings shared by the live gateway and a second replica."""

    def __init__(self, factory: sessionmaker[Session], tmp_path: Path, rasa: FakeRasa,
                 **settings: Any) -> None:
        self.factory, self.tmp_path = factory, tmp_path
        self.port = free_port()
        self.settings = GatewaySettings(rasa_url=rasa.url, warm_search_on_start=False,
                                        public_url=f"http://127.0.0.1:{self.port}",
                                        widget_secret=SECRET, **settings)

    def app(self) -> FastAPI:
        app = create_app(self.settings, session_factory=self.factory,
                         knowledge_settings=KnowledgeSettings(data_dir=self.tmp_path))
        provider = SandboxProvider(public_url=self.settings.public_url,
                                   transport=httpx.ASGITransport(app=app), backoff_seconds=0.01)
        app.dependency_overrides[get_provider] = lambda: provider
        return app


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def send(page: Page, text: str) -> None:
    page.fill("#atelier-input", text)
    page.press("#atelier-input", "Enter")


def rendered(page: Page) -> list[tuple[int, str, str]]:
    """(seq, role, text) of every message on screen that the gateway confirmed."""
    return page.eval_on_selector_all(
        ".atelier-msg[data-seq]",
        "nodes => nodes.map(n => [Number(n.dataset.seq), n.dataset.role,"
        " (n.querySelector('.atelier-bubble') || {}).textContent || ''])")


def assert_in_order_once(page: Page) -> list[tuple[int, str, str]]:
    shown = rendered(page)
    seqs = [seq for seq, _, _ in shown]
    assert seqs == sorted(set(seqs)), f"duplicates or disorder: {seqs}"
    return shown


def test_a_dropped_connection_catches_up_in_order_without_duplicates(
        demo_catalog: sessionmaker[Session], tmp_path: Path, fake_rasa: FakeRasa,
        redis_url: str, redis_prefix: str, browser: Browser) -> None:
    shop = Shop(demo_catalog, tmp_path, fake_rasa, redis_url=redis_url,
                redis_prefix=redis_prefix)
    live = LiveApp(shop.app, shop.port).start()
    try:
        page = browser.new_page()
        page.goto(live.url + "/")
        page.click("#atelier-launcher")
        send(page, "hi")
        expect(page.locator('.atelier-msg[data-role="bot"]').last).to_have_text(
            re.compile("You said: hi"))
        conversation_id = page.evaluate("localStorage.getItem('atelier.conversation_id')")
        # given the gateway goes away (the socket drops) …
        live.stop()
        expect(page.locator("#atelier-status")).to_contain_text("Reconnecting", timeout=15_000)
        # … while the shopper types, and another replica confirms their payment
        send(page, "are you there?")
        expect(page.locator(".atelier-msg.is-pending")).to_have_count(1)
        with TestClient(shop.app()) as replica:
            order = place_order(replica, conversation_id)
            link = replica.post(f"/api/orders/{order['id']}/payment",
                                headers={**SERVICE, "Idempotency-Key": "k"}).json()
            assert replica.post(httpx.URL(link["url"]).path, data={
                "name": "Ada", "number": "4242 4242 4242 4242", "expiry": "12/39",
                "cvc": "123"}).status_code == 200
        # when the gateway is back (a new process: nothing in memory)
        live.start()
        # then the widget reconnects by itself, gets the confirmation it missed, and its
        # waiting message is sent once and answered
        paid = f"Payment received for order {order['number']}"
        expect(page.locator('.atelier-msg[data-role="bot"]', has_text=paid)).to_have_count(
            1, timeout=20_000)
        expect(page.locator('.atelier-msg[data-role="bot"]',
                            has_text="You said: are you there?")).to_have_count(1)
        expect(page.locator(".atelier-msg.is-pending")).to_have_count(0)
        expect(page.locator("#atelier-status")).to_have_text("")
        shown = assert_in_order_once(page)
        texts = [text for _, _, text in shown]
        assert [t.count(paid) for t in texts].count(1) == 1
        assert sum("are you there?" in t for t in texts) == 2  # the message and its echo
        # and after a reload the same conversation is on screen, still once each
        page.reload()
        page.click("#atelier-launcher")
        expect(page.locator(".atelier-msg", has_text=paid)).to_have_count(1)
        time.sleep(0.5)  # the reconnect's replay must not add anything
        assert assert_in_order_once(page) == shown
        assert fake_rasa.messages(conversation_id) == ["hi", "are you there?"]
    finally:
        live.stop()


@pytest.fixture
def live_shop(demo_catalog: sessionmaker[Session], tmp_path: Path,
              fake_rasa: FakeRasa) -> Iterator[tuple[Shop, LiveApp]]:
    shop = Shop(demo_catalog, tmp_path, fake_rasa)
    live = LiveApp(shop.app, shop.port).start()
    yield shop, live
    live.stop()


def test_buttons_cards_and_the_payment_link_then_the_confirmation(
        live_shop: tuple[Shop, LiveApp], fake_rasa: FakeRasa, browser: Browser) -> None:
    shop, live = live_shop
    page = browser.new_page()
    page.goto(live.url + "/")
    page.click("#atelier-launcher")
    send(page, "show me mugs")
    card = page.locator(".atelier-card")
    expect(card).to_have_count(1)
    expect(card.locator(".atelier-card-name")).to_have_text("Blue Speckled Mug")
    expect(card.locator(".atelier-card-price")).to_contain_text("24.00")
    # a quick reply sends its payload, shown with its title
    page.click(".atelier-quick-reply >> text=Cheaper")
    expect(page.locator('.atelier-msg[data-role="bot"]').last).to_have_text(
        re.compile("You said: /refine"))
    card.locator(".atelier-card-button").click()
    expect(page.locator('.atelier-msg[data-role="bot"]').last).to_have_text(
        re.compile("You said: /product_details"))
    # the bot sends the payment link of a real order of this conversation
    conversation_id = page.evaluate("localStorage.getItem('atelier.conversation_id')")
    with httpx.Client(base_url=live.url) as api:
        order = place_order(api, conversation_id)  # type: ignore[arg-type]
        link = api.post(f"/api/orders/{order['id']}/payment",
                        headers={**SERVICE, "Idempotency-Key": "pay-1"}).json()
    fake_rasa.answers["pay"] = [{"text": "Here is your payment link.",
                                 "custom": {"link": {"title": f"Pay {order['total']} EUR",
                                                     "url": link["url"]}}}]
    send(page, "pay")
    pay_link = page.locator(".atelier-link")
    expect(pay_link).to_have_text(f"Pay {order['total']} EUR")
    with page.context.expect_page() as opened:
        pay_link.click()
    hosted = opened.value
    hosted.wait_for_load_state()
    hosted.fill("#number", "4242 4242 4242 4242")
    hosted.fill("#expiry", "12/39")
    hosted.fill("#cvc", "123")
    hosted.fill("#name", "Ada Lovelace")
    hosted.locator("button[type=submit]").click()
    expect(hosted.locator("body")).to_contain_text("Payment received")
    # the confirmation reaches the open widget by itself
    expect(page.locator('.atelier-msg[data-role="bot"]').last).to_contain_text(
        f"Payment received for order {order['number']} ({order['total']} EUR)",
        timeout=15_000)
    assert_in_order_once(page)


def test_a_conversation_the_gateway_does_not_take_as_ours_goes_on_in_a_new_one(
        live_shop: tuple[Shop, LiveApp], fake_rasa: FakeRasa, browser: Browser) -> None:
    _, live = live_shop
    # given a conversation somebody else began (its secret is theirs) …
    with httpx.Client(base_url=live.url) as api:
        theirs = api.post("/api/chat", json={"conversation_id": "c-theirs", "message": "hi"})
        assert theirs.status_code == 200
    # … that this browser's storage names, with a secret of its own
    page = browser.new_page()
    page.goto(live.url + "/")
    page.evaluate("""() => {
        localStorage.setItem('atelier.conversation_id', 'c-theirs');
        localStorage.setItem('atelier.conversation_secret', 'x'.repeat(43));
    }""")
    page.reload()
    # when the shopper writes
    page.click("#atelier-launcher")
    send(page, "hello")
    # then the widget goes on in a new conversation of its own, and the message gets there
    expect(page.locator('.atelier-msg[data-role="bot"]').last).to_have_text(
        re.compile("You said: hello"), timeout=15_000)
    conversation_id = page.evaluate("localStorage.getItem('atelier.conversation_id')")
    secret = page.evaluate("localStorage.getItem('atelier.conversation_secret')")
    assert conversation_id != "c-theirs" and secret != "x" * 43
    assert fake_rasa.messages("c-theirs") == ["hi"]
    assert fake_rasa.messages(conversation_id) == ["hello"]
    # and an older widget's storage (an id without a secret) starts a new one at once
    page.evaluate("""() => {
        localStorage.setItem('atelier.conversation_id', 'c-theirs');
        localStorage.removeItem('atelier.conversation_secret');
    }""")
    page.reload()
    page.click("#atelier-launcher")
    send(page, "again")
    expect(page.locator('.atelier-msg[data-role="bot"]').last).to_have_text(
        re.compile("You said: again"), timeout=15_000)
    assert page.evaluate("localStorage.getItem('atelier.conversation_id')") not in (
        "c-theirs", conversation_id)
    assert fake_rasa.messages("c-theirs") == ["hi"]


def test_the_widget_is_usable_on_a_phone_width_screen(live_shop: tuple[Shop, LiveApp],
                                                      browser: Browser) -> None:
    _, live = live_shop
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(live.url + "/")
    page.click("#atelier-launcher")
    panel = page.locator("#atelier-panel").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["width"] <= 375
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= 740
    send(page, "show me mugs")
    expect(page.locator(".atelier-card")).to_have_count(1)
    for selector in ("#atelier-input", "#atelier-send", ".atelier-card", ".atelier-close"):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
        assert box["y"] + box["height"] <= 740, selector
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    font = page.eval_on_selector("#atelier-input", "n => getComputedStyle(n).fontSize")
    assert font == "16px"  # smaller text makes phones zoom the page on focus
    context.close()


class ShopSite:
    """The shop's own web server (another origin) with a page embedding the widget."""

    def __init__(self) -> None:
        self.html = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                body = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://localhost:{self.server.server_address[1]}"

    def embed(self, gateway: str, **data: str) -> None:
        attributes = " ".join(f'data-{k.replace("_", "-")}="{v}"' for k, v in data.items())
        self.html = (f'<!doctype html><html lang="en"><title>Shop</title><body><h1>Shop</h1>'
                     f'<script src="{gateway}/static/widget.js" data-shop="Shop" {attributes} '
                     "defer></script></body></html>")


@pytest.fixture
def site() -> Iterator[ShopSite]:
    shop_site = ShopSite()
    yield shop_site
    shop_site.server.shutdown()


def test_a_shop_site_embeds_the_widget_with_a_signed_customer_token(
        demo_catalog: sessionmaker[Session], tmp_path: Path, fake_rasa: FakeRasa,
        site: ShopSite, browser: Browser) -> None:
    shop = Shop(demo_catalog, tmp_path, fake_rasa, widget_origins=site.url)
    live = LiveApp(shop.app, shop.port).start()
    try:
        token = sign_customer_token(secret=SECRET, customer_ref="c42",
                                    expires_at=int(time.time()) + 600)
        # the shop's page (its own origin, allowed) with the token on the tag
        site.embed(live.url, customer_token=token)
        page = browser.new_page()
        page.goto(site.url + "/account")
        page.click("#atelier-launcher")
        send(page, "where is my order")
        expect(page.locator('.atelier-msg[data-role="bot"]').last).to_contain_text("You said")
        assert fake_rasa.received[-1]["metadata"] == {
            "shopper": {"channel": "web", "external_id": "shop-c42"}}
        # a tampered token: the shopper is told, and goes on as a guest
        page.evaluate("localStorage.clear()")
        site.embed(live.url, customer_token=token[:-2] + "00")
        page.reload()
        page.click("#atelier-launcher")  # opening the chat connects
        expect(page.locator("#atelier-notice")).to_contain_text(
            "signature does not match. You can go on chatting as a guest.", timeout=15_000)
        send(page, "hello")
        expect(page.locator('.atelier-msg[data-role="bot"]').last).to_contain_text(
            "You said: hello", timeout=15_000)
        conversation_id = page.evaluate("localStorage.getItem('atelier.conversation_id')")
        assert fake_rasa.received[-1]["metadata"] == {
            "shopper": {"channel": "web", "external_id": conversation_id}}
    finally:
        live.stop()


def test_a_site_not_on_the_allow_list_is_told_and_not_served(
        live_shop: tuple[Shop, LiveApp], fake_rasa: FakeRasa, site: ShopSite,
        browser: Browser) -> None:
    _, live = live_shop
    site.embed(live.url)
    page = browser.new_page()
    page.goto(site.url + "/")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.click("#atelier-launcher")  # opening the chat connects
    refusal = f"This chat is not enabled for the site {site.url}."
    expect(page.locator("#atelier-notice")).to_have_text(refusal)
    # typing is answered with the same notice; nothing is queued or sent
    send(page, "hello")
    expect(page.locator("#atelier-notice")).to_have_text(refusal)
    assert page.locator(".atelier-msg[data-role=shopper]").count() == 0
    page.wait_for_timeout(1500)  # it does not keep knocking
    assert len(sockets) == 1
    expect(page.locator("#atelier-status")).to_have_text("")
    assert fake_rasa.received == []
