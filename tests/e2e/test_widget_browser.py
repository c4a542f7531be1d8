"""The same conversation through the widget on the demo shop page, in headless Chromium."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def send(page: Page, text: str) -> None:
    page.fill("#atelier-input", text)
    page.press("#atelier-input", "Enter")


def test_shopper_greets_and_sees_mug_cards(stack: Stack, page: Page) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(stack.app_url + "/")
    expect(page).to_have_title(re.compile("Atelier Demo Studio"))
    page.click("#atelier-launcher")
    expect(page.locator("#atelier-panel")).to_be_visible()

    send(page, "hi")
    bot = page.locator('.atelier-msg[data-role="bot"]')
    expect(bot.last).to_contain_text("welcome", timeout=30_000)
    expect(page.locator(".atelier-quick-reply").first).to_have_text("Ceramic mugs")

    send(page, "show me blue ceramic mugs")
    cards = page.locator(".atelier-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    assert cards.count() >= 3
    for i in range(cards.count()):
        card = cards.nth(i)
        assert "Mug" in card.locator(".atelier-card-name").inner_text()
        assert "€" in card.locator(".atelier-card-price").inner_text()
        expect(card.locator(".atelier-card-button")).to_have_text(
            ["Tell me more", "Personalise", "Add to cart"])
    image_loaded = cards.first.locator("img").evaluate(
        "img => img.complete && img.naturalWidth > 0")
    assert image_loaded
    first_name = cards.first.locator(".atelier-card-name").inner_text()

    # the conversation is this browser's: its secret (256 bits) proves it, and never
    # travels in a URL
    conversation_id, secret = page.evaluate(
        "[localStorage.getItem('atelier.conversation_id'),"
        " localStorage.getItem('atelier.conversation_secret')]")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert sockets and all(secret not in url for url in sockets)
    history = f"{stack.app_url}/api/chat/{conversation_id}/history"
    assert httpx.get(history, timeout=30).status_code == 403
    mine = httpx.get(history, headers={"X-Conversation-Secret": secret}, timeout=30)
    assert [m["text"] for m in mine.json() if m["role"] == "shopper"] == [
        "hi", "show me blue ceramic mugs"]
    hijack = httpx.post(f"{stack.app_url}/api/chat", timeout=30, json={
        "conversation_id": conversation_id, "message": "cancel my order"})
    assert hijack.status_code == 403

    # a reload keeps the conversation on screen
    page.reload()
    page.click("#atelier-launcher")
    expect(page.locator(".atelier-card").first).to_be_visible()
    assert page.locator(".atelier-card-name").first.inner_text() == first_name
    shopper = page.locator('.atelier-msg[data-role="shopper"]')
    expect(shopper).to_have_count(2)


def test_recommended_cards_show_their_reason_under_the_price(stack: Stack, page: Page) -> None:
    page.goto(stack.app_url + "/")
    page.click("#atelier-launcher")
    send(page, "what's popular")
    cards = page.locator(".atelier-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    assert 1 <= cards.count() <= 3
    for i in range(cards.count()):
        card = cards.nth(i)
        expect(card.locator(".atelier-card-price")).to_contain_text("€")
        expect(card.locator(".atelier-card-reason")).to_have_text(
            re.compile(r"^popular in the shop: ordered (once|\d+ times)$"))
        expect(card.locator(".atelier-card-button")).to_have_text(
            ["Tell me more", "Personalise", "Add to cart"])
    # a search's cards have no reason line
    send(page, "show me blue ceramic mugs")
    expect(page.locator(".atelier-cards").nth(1)).to_be_visible(timeout=30_000)
    expect(page.locator(".atelier-cards").nth(1).locator(".atelier-card-reason")).to_have_count(0)
