"""The shop's owner runs the back office in headless Chromium against the real app over
HTTP: signs in, finds the order a shopper just paid for, ships it with a tracking number,
and sees what changed; sees how well the bot understood shoppers and its slowest answers
(Rasa stood in for over HTTP), and adds a synonym beside a search that found nothing; the
screenshots are kept in the test's directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.models import AgentRole, OrderStatus
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from tests.channels.back_office import PASSWORD, SERVICE, BackOffice
from tests.channels.fake_rasa import FakeRasa
from tests.channels.live_app import LiveApp
from tests.channels.web_chat import chat_body
from tests.e2e import test_agent_console_browser as console_browser
from tests.e2e.stack import free_port

pytestmark = [pytest.mark.browser]
browser = console_browser.browser  # the agent console's: headless Chromium per module


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session], tmp_path: Path,
         fake_rasa: FakeRasa) -> Iterator[BackOffice]:
    """The app on a real port; the test's shopper and the browser both talk to it over HTTP."""
    port = free_port()
    settings = GatewaySettings(warm_search_on_start=False, public_url=f"http://127.0.0.1:{port}",
                               rasa_url=fake_rasa.url)

    def make_app() -> FastAPI:
        app = create_app(settings, session_factory=demo_catalog,
                         knowledge_settings=KnowledgeSettings(data_dir=tmp_path / "index"))
        provider = SandboxProvider(public_url=settings.public_url,
                                   webhook_base=settings.public_url, backoff_seconds=0.01)
        app.dependency_overrides[get_provider] = lambda: provider
        return app

    live = LiveApp(make_app, port).start()
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield BackOffice(client=client, db=demo_catalog)
    live.stop()


def test_the_owner_ships_the_order_a_shopper_paid_for(shop: BackOffice, browser: Browser,
                                                       tmp_path: Path) -> None:
    page = console_browser.new_page(browser)
    # given a shopper's paid order with a personalised mug, and the shop's owner
    order = shop.paid_order("ada", "Ada Lovelace", glaze="sage green", inscription="For Ada")
    number = order["number"]
    owner = shop.account(AgentRole.OWNER, "Olga")
    base = str(shop.client.base_url).rstrip("/")

    # a visitor is sent to sign in; a wrong password is refused
    page.goto(base + "/merchant")
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("#login-email", owner)
    page.fill("#login-password", "not the password")
    page.click("#login-submit")
    expect(page.locator("#problem")).to_have_text("Wrong email or password.")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")

    # the order list shows the new order
    expect(page.locator("h1")).to_have_text("Orders")
    expect(page.locator("#owner-name")).to_have_text("Olga")
    row = page.locator("table.orders tbody tr", has_text=number)
    expect(row).to_contain_text("Ada Lovelace")
    expect(row).to_contain_text("paid")
    expect(row).to_contain_text(f"{order['total']} EUR")
    page.screenshot(path=str(tmp_path / "orders.png"), full_page=True)

    # its page shows the personalisation, the payment and what can be done
    row.locator("a.order-link").click()
    expect(page.locator("h1")).to_have_text(f"Order {number}")
    expect(page.locator("table.lines")).to_contain_text("glaze: sage green · inscription: "
                                                        "For Ada")
    expect(page.locator("table.payments")).to_contain_text("succeeded")
    expect(page.locator("#shipment")).to_have_text("Not shipped.")

    # when the owner ships it with the parcel's tracking number
    page.fill("#tracking-number", "cp-2026-000123")
    page.get_by_role("button", name="Ship").click()

    # then the page says so, and the order, its parcel and history show it
    expect(page.locator("#notice")).to_have_text(
        "Shipped; the shopper is told with the tracking number.")
    expect(page.locator("#order-status")).to_have_text("shipped")
    expect(page.locator("#tracking")).to_have_text("CP-2026-000123")
    expect(page.locator("table.events")).to_contain_text("paid → shipped")
    expect(page.locator("table.audit")).to_contain_text(owner)
    expect(page.get_by_role("button", name="Ship")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "shipped.png"), full_page=True)
    assert shop.order(number).status is OrderStatus.SHIPPED

    # the audit log lists the action; nothing on the pages asked for a script
    page.click("nav >> text=Audit log")
    expect(page.locator("table.audit tbody tr").first).to_contain_text("order.ship")
    expect(page.locator("table.audit tbody tr").first).to_contain_text(
        "tracking_number: CP-2026-000123")
    assert page.locator("script").count() == 0
    assert (tmp_path / "orders.png").stat().st_size > 10_000
    assert (tmp_path / "shipped.png").stat().st_size > 10_000


def test_the_owner_sees_how_well_the_bot_understood_and_adds_a_synonym(
        shop: BackOffice, browser: Browser, fake_rasa: FakeRasa, tmp_path: Path) -> None:
    page = console_browser.new_page(browser)
    # given three shoppers' messages, one not understood and one slow to answer, and a
    # search that found nothing
    fake_rasa.not_understood.add("zorp flim flam")
    fake_rasa.delays["a vase for a very long table"] = 1.0  # well above a plain turn
    for n, text in enumerate(["hello", "zorp flim flam", "a vase for a very long table"]):
        said = shop.client.post("/api/chat", json=chat_body(f"browser-{n}", text))
        assert said.status_code == 200, said.text
    words = {"q": "charcuterie slab", "attr.type": "charcuterie slab"}
    assert shop.client.get("/api/products/search", headers=SERVICE, params=words,
                           timeout=300).json()["results"] == []  # the index is built first
    owner = shop.account(AgentRole.OWNER, "Olga")
    base = str(shop.client.base_url).rstrip("/")
    page.goto(base + "/merchant/funnel?days=7")
    page.fill("#login-email", owner)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")

    # the funnel page shows the misunderstood rate, its chart and the slowest answers
    expect(page.locator("#misunderstood-rate")).to_have_text(
        "1 of 3 messages not understood (33.3%).")
    chart = page.locator("#understanding-chart")
    expect(chart).to_be_visible()
    for _ in range(100):  # the chart is drawn on the server: wait until it is loaded
        if chart.evaluate("img => img.complete"):
            break
        page.wait_for_timeout(100)
    assert chart.evaluate("img => img.naturalWidth") == 1200  # drawn, not a broken image
    slowest = page.locator("table.slowest tbody tr")
    expect(slowest).to_have_count(3)
    expect(slowest.first).to_contain_text("a vase for a very long table")
    expect(slowest.first).to_contain_text("web")
    page.screenshot(path=str(tmp_path / "funnel.png"), full_page=True)

    # when the owner maps the shopper's words to the catalog's cheese board
    page.click("nav >> text=Unanswered")
    form = page.locator("#synonym-0")
    expect(form).to_be_visible()
    expect(form.locator("input[name=phrase]")).to_have_value("charcuterie slab")
    form.locator("select[name=name]").select_option("type")
    form.locator("input[name=value]").fill("cheese board")
    form.get_by_role("button", name="Add a synonym").click()

    # then the page says so and lists it, and the search finds the board at once
    expect(page.locator("#notice")).to_have_text(
        "The synonym was saved; the search reads it at once.")
    expect(page.locator("table.synonyms tbody tr")).to_contain_text("type: cheese board")
    page.screenshot(path=str(tmp_path / "synonym.png"), full_page=True)
    found = shop.client.get("/api/products/search", headers=SERVICE, params=words).json()
    assert [r["sku"] for r in found["results"]] == ["WDW-CHZ-001"]
    assert page.locator("script").count() == 0
