"""The back office over HTTP (SQLite and PostgreSQL): only the shop's owner gets in, pages of
other sites cannot act with the owner's cookie, and each action goes through the core's
state machine and is written to the audit log."""

from __future__ import annotations

import pytest

from channels.merchant import orders as orders_pages
from channels.merchant.auth import COOKIE
from commerce_core.models import AgentRole, OrderStatus
from tests.channels.back_office import (
    EVIL,
    OWN,
    PASSWORD,
    BackOffice,
    shop_fixture,  # noqa: F401 - the fixture
)

PAGES = ("returns", "products", "planning", "planning.png", "funnel", "funnel.png",
         "questions", "reviews", "audit")


# --- who gets in ----------------------------------------------------------------------

def test_a_stranger_is_sent_to_sign_in_and_cannot_act(shop: BackOffice) -> None:
    order = shop.paid_order()
    page = shop.client.get("/merchant/orders/" + order["number"], follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == ("/merchant/login?next=%2Fmerchant%2Forders%2F"
                                        + order["number"])
    form = shop.client.get(page.headers["location"])
    assert form.status_code == 200 and 'id="login-form"' in form.text
    assert f'value="/merchant/orders/{order["number"]}"' in form.text
    acted = shop.post(f"/merchant/orders/{order['number']}/production")
    assert acted.status_code == 401
    assert shop.order(order["number"]).status is OrderStatus.PAID


def test_the_owner_signs_in_and_is_taken_where_they_were_going(shop: BackOffice) -> None:
    email = shop.account(AgentRole.OWNER)
    wrong = shop.sign_in(email, "not the password")
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    assert COOKIE not in wrong.cookies
    signed = shop.client.post("/merchant/login", headers={"Origin": OWN}, follow_redirects=False,
                              data={"email": email.upper(), "password": PASSWORD,
                                    "next": "/merchant/audit"})
    assert signed.status_code == 303 and signed.headers["location"] == "/merchant/audit"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/merchant" in cookie
    assert shop.client.get("/merchant/audit").status_code == 200
    # after signing out the cookie opens nothing
    assert shop.post("/merchant/logout").status_code == 303
    assert shop.client.get("/merchant", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/agent"])
def test_signing_in_never_leads_to_another_site(shop: BackOffice, target: str) -> None:
    email = shop.account(AgentRole.OWNER)
    signed = shop.client.post("/merchant/login", headers={"Origin": OWN}, follow_redirects=False,
                              data={"email": email, "password": PASSWORD, "next": target})
    assert signed.headers["location"] == "/merchant"


def test_an_agent_cannot_use_the_back_office(shop: BackOffice) -> None:
    order = shop.paid_order()
    email = shop.account(AgentRole.AGENT, "Ana")
    # signing in to the back office is refused, and opens no session
    refused = shop.sign_in(email)
    assert refused.status_code == 403
    assert "the back office is for the shop&#x27;s owner" in refused.text
    assert COOKIE not in refused.cookies
    # the agent's console session does not open it either
    login = shop.client.post("/agent/api/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    for method, path in [("GET", "/merchant"), ("GET", f"/merchant/orders/{order['number']}"),
                         *[("GET", f"/merchant/{page}") for page in PAGES],
                         ("POST", f"/merchant/orders/{order['number']}/production"),
                         ("POST", f"/merchant/returns/{order['number']}/accept"),
                         ("POST", "/merchant/variants/1"), ("POST", "/merchant/faq"),
                         ("POST", "/merchant/reviews/1/hide")]:
        response = shop.client.request(method, path, headers=bearer, follow_redirects=False)
        assert response.status_code == 403, (method, path)
        # and a visitor without a session is sent to sign in, or refused
        response = shop.client.request(method, path, follow_redirects=False)
        assert response.status_code == (303 if method == "GET" else 401), (method, path)
    assert shop.order(order["number"]).status is OrderStatus.PAID
    assert shop.audit() == []


def test_an_owners_session_token_works_as_a_bearer_for_scripts(shop: BackOffice) -> None:
    email = shop.account(AgentRole.OWNER)
    order = shop.paid_order()
    login = shop.client.post("/agent/api/login", json={"email": email, "password": PASSWORD})
    shop.client.cookies.clear()
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    moved = shop.client.post(f"/merchant/orders/{order['number']}/production", headers=bearer,
                             follow_redirects=False)
    assert moved.status_code == 303
    assert shop.order(order["number"]).status is OrderStatus.IN_PRODUCTION


# --- requests of other sites -----------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
    {"Referer": EVIL + "/page"}, {}])
def test_a_page_of_another_site_cannot_act_with_the_owners_cookie(
        shop: BackOffice, headers: dict[str, str]) -> None:
    shop.owner()
    order = shop.paid_order()
    response = shop.client.post(f"/merchant/orders/{order['number']}/ship", headers=headers,
                                data={"tracking_number": "EVIL-123456"},
                                follow_redirects=False)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cross_site_request"
    assert shop.order(order["number"]).status is OrderStatus.PAID
    assert shop.audit() == []


def test_a_page_of_another_site_cannot_sign_a_browser_in(shop: BackOffice) -> None:
    email = shop.account(AgentRole.OWNER)
    response = shop.client.post("/merchant/login", headers={"Origin": EVIL},
                                data={"email": email, "password": PASSWORD},
                                follow_redirects=False)
    assert response.status_code == 403
    assert COOKIE not in response.cookies


# --- orders ------------------------------------------------------------------------------

def test_the_list_filters_searches_and_pages(shop: BackOffice,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders_pages, "PAGE_SIZE", 2)
    shop.owner()
    paid = [shop.paid_order(f"p{i}", f"Paid Shopper{i}") for i in range(3)]
    unpaid = shop.place_order("zoe", "Zoë Durand")
    everything = shop.client.get("/merchant").text
    assert "page 1 of 2 · 4 orders" in everything
    assert unpaid["number"] in everything and paid[2]["number"] in everything
    assert paid[0]["number"] not in everything  # the oldest is on the next page
    older = shop.client.get("/merchant", params={"page": 2}).text
    assert paid[0]["number"] in older and unpaid["number"] not in older
    only_paid = shop.client.get("/merchant", params={"status": "paid"}).text
    assert "page 1 of 2 · 3 orders" in only_paid and unpaid["number"] not in only_paid
    by_name = shop.client.get("/merchant", params={"q": "zoË"}).text
    assert "1 orders" in by_name and unpaid["number"] in by_name
    by_number = shop.client.get("/merchant", params={"q": paid[1]["number"].lower()}).text
    assert "1 orders" in by_number and paid[1]["number"] in by_number
    by_email = shop.client.get("/merchant", params={"q": "p2@example"}).text
    assert "1 orders" in by_email and paid[2]["number"] in by_email
    wildcard = shop.client.get("/merchant", params={"q": "%"}).text
    assert "0 orders" in wildcard and "No order matches." in wildcard
    bad = shop.client.get("/merchant", params={"status": "lost"})
    assert bad.status_code == 422 and "There is no order status &#x27;lost&#x27;." in bad.text


def test_an_order_page_shows_lines_personalisation_payment_and_history(
        shop: BackOffice) -> None:
    shop.owner()
    order = shop.paid_order("ada", "Ada <b>Lovelace</b>", glaze="sage green",
                            inscription="For Ada & Co")
    page = shop.client.get(f"/merchant/orders/{order['number']}")
    assert page.status_code == 200
    text = page.text
    assert "Hand-Thrown Ceramic Mug" in text and "CER-MUG-001" in text
    assert "glaze: sage green · inscription: For Ada &amp; Co" in text
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in text and "<b>Lovelace</b>" not in text
    assert f"total {order['total']} EUR" in text
    assert "sandbox" in text and "succeeded" in text  # the payment
    assert "Not shipped." in text
    assert "placed" in text and "pending payment → paid" in text  # the events
    assert "Mark in production" in text and "Ship" in text


def test_an_order_goes_to_production_then_ships_with_its_tracking_number(
        shop: BackOffice) -> None:
    owner = shop.owner()
    order = shop.paid_order()
    number = order["number"]
    moved = shop.post(f"/merchant/orders/{number}/production")
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/merchant/orders/{number}?done=in_production"
    shipped = shop.post(f"/merchant/orders/{number}/ship", tracking_number=" 6a-0012345678 ")
    assert shipped.status_code == 303
    page = shop.client.get(shipped.headers["location"]).text
    assert "Shipped; the shopper is told with the tracking number." in page
    assert "6A-0012345678" in page
    assert shop.order(number).status is OrderStatus.SHIPPED
    assert shop.audit() == [
        (owner, "order.in_production", number, {"status": "paid", "payment_status": "paid"},
         {"status": "in_production", "payment_status": "paid"}),
        (owner, "order.ship", number, {"status": "in_production", "payment_status": "paid"},
         {"status": "shipped", "payment_status": "paid", "tracking_number": "6A-0012345678"})]
    log = shop.client.get("/merchant/audit").text
    assert owner in log and "order.ship" in log and "tracking_number: 6A-0012345678" in log


def test_a_move_the_order_cannot_make_shows_the_cores_error(shop: BackOffice) -> None:
    shop.owner()
    unpaid = shop.place_order()
    refused = shop.post(f"/merchant/orders/{unpaid['number']}/ship")
    assert refused.status_code == 409
    assert "An order that is pending payment cannot become shipped." in refused.text
    assert 'id="problem"' in refused.text
    paid = shop.paid_order("bob")
    assert shop.post(f"/merchant/orders/{paid['number']}/ship").status_code == 303
    again = shop.post(f"/merchant/orders/{paid['number']}/production")
    assert again.status_code == 409
    assert "An order that is shipped cannot become in production." in again.text
    assert [a[1] for a in shop.audit()] == ["order.ship"]


def test_a_tracking_number_must_be_one_and_belong_to_one_parcel(shop: BackOffice) -> None:
    shop.owner()
    first, second = shop.paid_order("ada"), shop.paid_order("bob")
    bad = shop.post(f"/merchant/orders/{first['number']}/ship", tracking_number="<x>")
    assert bad.status_code == 422 and "A tracking number is 6-40 letters" in bad.text
    assert shop.post(f"/merchant/orders/{first['number']}/ship",
                     tracking_number="PARCEL-1").status_code == 303
    taken = shop.post(f"/merchant/orders/{second['number']}/ship", tracking_number="parcel-1")
    assert taken.status_code == 409 and "already carries another order" in taken.text
    assert shop.order(second["number"]).status is OrderStatus.PAID


def test_the_owner_refunds_a_paid_order_and_cancels_an_unpaid_one(shop: BackOffice) -> None:
    owner = shop.owner()
    paid, unpaid = shop.paid_order("ada"), shop.place_order("bob")
    refunded = shop.post(f"/merchant/orders/{paid['number']}/refund")
    assert refunded.status_code == 303
    assert shop.order(paid["number"]).status is OrderStatus.REFUNDED  # the sandbox confirms
    cancelled = shop.post(f"/merchant/orders/{unpaid['number']}/cancel")
    assert cancelled.status_code == 303
    assert shop.order(unpaid["number"]).status is OrderStatus.CANCELLED
    assert shop.audit() == [
        (owner, "order.refund", paid["number"], {"status": "paid", "payment_status": "paid"},
         {"status": "paid", "payment_status": "refund_pending"}),
        (owner, "order.cancel", unpaid["number"],
         {"status": "pending_payment", "payment_status": "unpaid"},
         {"status": "cancelled", "payment_status": "unpaid"})]
    page = shop.client.get(f"/merchant/orders/{unpaid['number']}").text
    assert "reason: cancelled by the merchant" in page
    twice = shop.post(f"/merchant/orders/{paid['number']}/refund")
    assert twice.status_code == 409 and "there is nothing to refund" in twice.text


def test_an_unknown_order_is_a_clear_404(shop: BackOffice) -> None:
    shop.owner()
    for number in ("AT-ZZZZZZ", "not a number!"):
        page = shop.client.get(f"/merchant/orders/{number}")
        assert page.status_code == 404 and "There is no order" in page.text
    assert shop.post("/merchant/orders/AT-ZZZZZZ/production").status_code == 404
