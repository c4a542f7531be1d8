"""Markup in messages is text: in the widget (headless Chromium) nothing a shopper, the bot or
an agent writes can run or inject elements; oversized messages get a clear notice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from tests.channels.fake_rasa import FakeRasa
from tests.channels.live_app import LiveApp
from tests.conftest import _clean
from tests.e2e.stack import free_port

pytestmark = [pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
IMG = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = "<script>window.__xss=(window.__xss||0)+1</script>"
HOSTILE = [{
    "text": f"Here you go {IMG}",
    "buttons": [{"title": f"<b>{SCRIPT}</b>", "payload": "/affirm"}],
}, {
    "custom": {"cards": [{"id": 1, "sku": "X-1", "name": f"Mug {SCRIPT}", "price": "12.00",
                          "currency": "EUR", "image_url": "javascript:window.__xss=9",
                          "url": "javascript:window.__xss=9",
                          "buttons": [{"title": IMG, "payload": "/x"}]}],
               "link": {"title": f"Pay {IMG}", "url": "javascript:window.__xss=9"}},
}]


CELL_IMG = '<img src=x onerror="window.__xss=5">'  # a "|" would end the table cell
FAQ_ANSWER = [{"text": (
    "Returns within **30 days** of _delivery_: see [our terms](https://shop.example/terms), "
    f"[this](javascript:window.__xss=7) or {IMG}.\n\n"
    "- unused **<script>x</script>** pieces\n- tracked post\n\n"
    "| Zone | Price |\n|---|---|\n| EU | **€9** |\n"
    f"| {CELL_IMG} | [x](javascript:window.__xss=8) |")}]


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    _clean(sqlite_engine)
    yield sqlite_engine
    _clean(sqlite_engine)


@pytest.fixture
def live(demo_catalog: sessionmaker[Session], tmp_path: Path,
         fake_rasa: FakeRasa) -> Iterator[LiveApp]:
    port = free_port()
    fake_rasa.answers["show me"] = HOSTILE
    fake_rasa.answers["returns"] = FAQ_ANSWER
    settings = GatewaySettings(rasa_url=fake_rasa.url, warm_search_on_start=False,
                               public_url=f"http://127.0.0.1:{port}")
    app = LiveApp(lambda: create_app(settings, session_factory=demo_catalog,
                                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path)),
                  port).start()
    yield app
    app.stop()


@pytest.fixture
def page(live: LiveApp) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                      args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(live.url + "/")
        page.click("#atelier-launcher")
        yield page
        browser.close()


def send(page: Page, text: str) -> None:
    page.fill("#atelier-input", text)
    page.press("#atelier-input", "Enter")


def test_markup_from_the_bot_and_the_shopper_is_shown_as_text(page: Page,
                                                              fake_rasa: FakeRasa) -> None:
    # when the shopper types markup and the bot answers with markup everywhere
    send(page, f"<b>bold</b> {IMG}")
    expect(page.locator('.atelier-msg[data-role="bot"]').last).to_contain_text("You said:")
    send(page, "show me")
    bot = page.locator('.atelier-msg[data-role="bot"]').last
    expect(bot.locator(".atelier-card")).to_have_count(1)
    page.wait_for_timeout(300)  # give any injected handler the chance to run
    # then nothing ran and no element was injected
    assert page.evaluate("window.__xss") is None
    log = page.locator("#atelier-log")
    assert log.locator("script, b, img[src='x']").count() == 0
    shopper = page.locator('.atelier-msg[data-role="shopper"] .atelier-bubble').first
    assert shopper.inner_text().endswith(f"<b>bold</b> {IMG}")
    assert bot.locator(".atelier-bubble").inner_text().endswith(f"Here you go {IMG}")
    assert page.locator(".atelier-quick-reply").first.inner_text() == f"<b>{SCRIPT}</b>"
    card = bot.locator(".atelier-card")
    assert card.locator(".atelier-card-name").inner_text() == f"Mug {SCRIPT}"
    assert card.locator(".atelier-card-button").inner_text() == IMG
    # javascript: URLs never reach href/src: the card name is not a link, the image is the
    # placeholder and the payment link is left out
    assert card.locator("a").count() == 0
    assert "javascript" not in card.locator("img").get_attribute("src")
    assert bot.locator(".atelier-link").count() == 0
    assert f"<b>bold</b> {IMG}" in fake_rasa.messages()


def test_a_bot_answer_in_markdown_is_rendered_and_its_markup_stays_inert(
        page: Page) -> None:
    # when the bot answers with Markdown holding an <img onerror> and javascript: links
    send(page, "returns")
    bubble = page.locator('.atelier-msg[data-role="bot"] .atelier-bubble').last
    expect(bubble.locator("table")).to_have_count(1)
    page.wait_for_timeout(300)
    # then emphasis, the list, the http link and the table are elements
    assert bubble.locator("p strong").first.inner_text() == "30 days"
    assert bubble.locator("p em").inner_text() == "delivery"
    assert bubble.locator("ul > li").all_inner_texts() == [
        "unused <script>x</script> pieces", "tracked post"]
    assert bubble.locator("th").all_inner_texts() == ["Zone", "Price"]
    assert bubble.locator("td strong").inner_text() == "€9"
    [link] = bubble.locator("a").all()
    assert (link.inner_text(), link.get_attribute("href")) == (
        "our terms", "https://shop.example/terms")
    # and the markup is text: nothing ran, no element was injected, no javascript: link
    assert page.evaluate("window.__xss") is None
    assert bubble.locator("script, img").count() == 0
    assert IMG in bubble.locator("p").first.inner_text()
    assert bubble.locator("td").nth(2).inner_text() == CELL_IMG
    assert "**" not in bubble.inner_text() and "|---" not in bubble.inner_text()


def test_an_oversized_message_gets_a_clear_notice_and_is_not_sent(page: Page,
                                                                 fake_rasa: FakeRasa) -> None:
    page.fill("#atelier-input", "x" * 2001)
    notice = page.locator("#atelier-notice")
    expect(notice).to_contain_text("2,001 / 2,000 characters")
    page.press("#atelier-input", "Enter")
    expect(notice).to_contain_text("the limit is 2,000")
    assert page.locator("#atelier-input").get_attribute("aria-invalid") == "true"
    assert page.locator('.atelier-msg[data-role="shopper"]').count() == 0
    # a client that skips the widget's check is refused by the gateway with the same words
    error = page.evaluate("""async () => {
        const ws = new WebSocket(location.origin.replace('http', 'ws') +
                                 '/ws/chat?conversation_id=raw-client');
        await new Promise((ok) => ws.addEventListener('open', ok));
        ws.send(JSON.stringify({type: 'hello', conversation_secret: 'r'.repeat(43)}));
        ws.send(JSON.stringify({type: 'message', text: 'y'.repeat(2001), client_id: 'k'}));
        return await new Promise((ok) => ws.addEventListener('message', (e) => {
            const frame = JSON.parse(e.data);
            if (frame.type === 'error') ok(frame);
        }));
    }""")
    assert error["code"] == "message_too_long" and "at most 2000 characters" in error["message"]
    assert fake_rasa.received == []
