"""A shopper asks for a person in the widget and an agent answers in the console, both in
headless Chromium against the real stack (Rasa with the trained model, actions, app)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.stack import REPO, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
AGENT_EMAIL = "ana@atelier.example"
AGENT_PASSWORD = "a long console password"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Browser) -> Page:
    return browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


@pytest.fixture(scope="module")
def agent_account(stack: Stack) -> str:
    """Created with the operator command, the password given through the environment."""
    result = subprocess.run(
        [sys.executable, "-m", "channels", "create-agent", "--email", AGENT_EMAIL,
         "--name", "Ana"], cwd=REPO, capture_output=True, text=True,
        env={**stack.env(), "ATELIER_AGENT_PASSWORD": AGENT_PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created" in result.stdout
    again = subprocess.run(
        [sys.executable, "-m", "channels", "create-agent", "--email", AGENT_EMAIL],
        cwd=REPO, capture_output=True, text=True, input="another password 123\n",
        env={k: v for k, v in stack.env().items() if k != "ATELIER_AGENT_PASSWORD"})
    assert again.returncode == 2 and "already exists" in again.stdout
    return AGENT_EMAIL


def send(page: Page, text: str) -> None:
    page.fill("#atelier-input", text)
    page.press("#atelier-input", "Enter")


def sign_in(page: Page, stack: Stack, email: str, password: str) -> None:
    page.goto(stack.app_url + "/agent")
    expect(page.locator("#login-email")).to_be_visible()
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("#login-submit")


def test_agent_signs_in_claims_replies_and_hands_back(stack: Stack, browser: Browser,
                                                      agent_account: str) -> None:
    shopper, agent = new_page(browser), new_page(browser)
    # the shopper talks to the bot, then asks for a person
    shopper.goto(stack.app_url + "/")
    shopper.click("#atelier-launcher")
    send(shopper, "hi")
    bot = shopper.locator('.atelier-msg[data-role="bot"]')
    expect(bot.last).to_contain_text("welcome", timeout=30_000)
    shopper.click("#atelier-human")
    notices = shopper.locator('.atelier-msg[data-role="system"]')
    expect(notices.last).to_contain_text("you're in the queue", timeout=30_000)
    conversation_id = shopper.evaluate("localStorage.getItem('atelier.conversation_id')")
    send(shopper, XSS)  # while waiting: to the agent, not the bot

    # a wrong password is refused; the right one opens the console
    sign_in(agent, stack, agent_account, "not the password")
    expect(agent.locator("#login-error")).to_have_text("Wrong email or password.")
    sign_in(agent, stack, agent_account, AGENT_PASSWORD)
    expect(agent.locator("#agent-name")).to_contain_text("Ana")
    item = agent.locator(f'#queue-waiting [data-conversation-id="{conversation_id}"]')
    expect(item).to_be_visible(timeout=10_000)
    expect(item).to_contain_text("asked for a person")
    expect(item).to_contain_text("waiting")
    item.click()
    transcript = agent.locator("#transcript")
    expect(transcript.locator('[data-role="shopper"]').last).to_contain_text(XSS)
    expect(transcript.locator('[data-role="shopper"]').first).to_contain_text("hi")
    expect(transcript.locator('[data-role="bot"]').first).to_contain_text("welcome")
    expect(agent.locator("#reply-send")).to_be_disabled()

    # claim: the shopper is told; the reply reaches the widget, shown as text
    agent.click("#claim")
    expect(agent.locator("#conv-state")).to_have_text("With Ana")
    expect(agent.locator(f'#queue-mine [data-conversation-id="{conversation_id}"]')
           ).to_be_visible()
    expect(notices.last).to_contain_text("Ana from the shop has joined the conversation.",
                                         timeout=5_000)
    reply = "Hello, I'm Ana <b>from the workshop</b>" + XSS
    agent.fill("#reply-text", reply)
    agent.click("#reply-send")
    from_agent = shopper.locator('.atelier-msg[data-role="agent"] .atelier-bubble')
    expect(from_agent.last).to_contain_text(reply, timeout=5_000)
    expect(transcript.locator('[data-role="agent"]').last).to_contain_text(reply)

    # the shopper's next message reaches the agent live; the bot stays silent
    bots_before = bot.count()
    send(shopper, "Could the mug be engraved?")
    expect(transcript.locator('[data-role="shopper"]').last).to_contain_text(
        "Could the mug be engraved?", timeout=5_000)
    shopper.wait_for_timeout(1000)
    assert bot.count() == bots_before

    # hand back: the shopper hears the bot is back, and the bot speaks again
    agent.click("#handback")
    expect(notices.last).to_contain_text("You're back with the shop's assistant",
                                         timeout=10_000)
    shopper.wait_for_function(
        f"document.querySelectorAll('.atelier-msg[data-role=bot]').length > {bots_before}",
        timeout=30_000)
    expect(agent.locator("#conv-state")).to_have_text("With the bot")

    # nothing a shopper or an agent typed ran as markup, on either page
    for page in (shopper, agent):
        assert page.evaluate("window.__xss") is None
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("b", has_text="from the workshop").count() == 0


def test_the_console_api_refuses_a_browser_without_a_session(stack: Stack,
                                                             browser: Browser) -> None:
    page = new_page(browser)
    page.goto(stack.app_url + "/agent")
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#console")).to_be_hidden()
    status = page.evaluate("fetch('/agent/api/queue').then(r => r.status)")
    assert status == 401
