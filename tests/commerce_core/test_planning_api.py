"""The merchant's planning API on SQLite and PostgreSQL, with orders written to the
database for a few products: forecast, production plan, restock suggestions.

The shop: a personalised mug made to order (ceramics rules: 2 making days, +1 for an
inscription), a bowl sold from stock (21 days to make a batch) and a ring bought in.
Orders are placed at noon on the Monday of past weeks, so that the weeks they fall in do
not depend on the day the test runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core import clock
from commerce_core.customization.engine import add_workshop_days
from commerce_core.models import (
    Customer,
    CustomizationRuleSet,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Product,
    Variant,
)
from commerce_core.planning.settings import get_planning_settings
from tests.commerce_core.helpers import SERVICE, api, merchant_headers

CERAMICS_RULES = {
    "scope": {"category": "ceramics"}, "base_days": 2,
    "options": [{"name": "inscription", "label": "Inscription", "kind": "text",
                 "max_length": 20, "price_delta": "5.00", "extra_days": 1}],
}
ROUTES = ("/api/merchant/forecast", "/api/merchant/production-plan",
          "/api/merchant/restock-suggestions")
_numbers = itertools.count(1)


@dataclass
class Shop:
    client: TestClient
    merchant: dict[str, str]
    db: sessionmaker[Session]
    ids: dict[str, int]
    """Product id by SKU."""

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, headers=self.merchant, params=params)


def this_monday() -> date:
    today = clock.now().date()
    return today - timedelta(days=today.weekday())


def weeks_ago(weeks: int) -> datetime:
    return datetime.combine(this_monday() - timedelta(weeks=weeks), time(12), tzinfo=UTC)


def earlier_today(ago: timedelta) -> datetime:
    """``ago`` before now, but not before midnight: just after midnight on a Monday, an
    hour ago is last week, and an order placed then would count as history."""
    now = clock.now()
    return max(now - ago, datetime.combine(now.date(), time(0), tzinfo=UTC))


def place(session: Session, *, at: datetime, lines: list[tuple[Variant, int, dict[str, Any]]],
          status: OrderStatus = OrderStatus.DELIVERED, ready_by: date | None = None) -> str:
    """An order written straight to the database, as years of trading would leave it."""
    customer = Customer(email="maker@example.com")
    session.add(customer)
    session.flush()
    number = f"AT-T{next(_numbers):05d}"
    paid = status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED)
    total = sum((v.price * q for v, q, _ in lines), Decimal("0.00"))
    session.add(Order(
        number=number, customer_id=customer.id, email="maker@example.com",
        shipping_address={"country": "FR"}, status=status,
        payment_status=PaymentStatus.PAID if paid else PaymentStatus.UNPAID, currency="EUR",
        subtotal=total, shipping=Decimal("0.00"), tax=Decimal("0.00"), total=total,
        ready_by=(ready_by or at.date()).isoformat(), created_at=at,
        lines=[OrderLine(variant_id=v.id, sku=v.sku, name=v.sku, options=o,
                         unit_price=v.price, quantity=q, line_total=v.price * q)
               for v, q, o in lines]))
    return number


def _product(session: Session, sku: str, category: str, stock: int,
             attributes: dict[str, str]) -> Variant:
    variant = Variant(sku=sku, price=Decimal("30.00"), currency="EUR", stock=stock)
    session.add(Product(handle=sku.lower(), name=f"Product {sku}", category=category,
                        attributes=attributes, currency="EUR", variants=[variant]))
    session.flush()
    return variant


@pytest.fixture
def shop(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Shop]:
    with session_factory() as session:
        session.add(CustomizationRuleSet(scope_kind="category", scope_value="ceramics",
                                         spec=CERAMICS_RULES))
        mug = _product(session, "MUG-P", "ceramics", 5, {"made_to_order": "yes"})
        bowl = _product(session, "BOWL-1", "ceramics", 2, {"lead_time_days": "21"})
        ring = _product(session, "RING-1", "jewellery", 100, {"restock": "reorder"})
        _product(session, "VASE-1", "ceramics", 3, {})
        for week in range(1, 21):  # twenty weeks of steady trading
            place(session, at=weeks_ago(week), lines=[(mug, 1, {}), (bowl, 3, {})])
            place(session, at=weeks_ago(week) + timedelta(hours=2), lines=[(ring, 1, {})])
        # neither a lapsed reservation, a cancelled order nor this week's sales are history
        place(session, at=weeks_ago(3), lines=[(mug, 50, {})],
              status=OrderStatus.PENDING_PAYMENT)
        place(session, at=weeks_ago(4), lines=[(bowl, 50, {})], status=OrderStatus.CANCELLED)
        place(session, at=earlier_today(timedelta(minutes=1)), lines=[(bowl, 30, {})])
        session.commit()
        ids = {v.sku: v.product_id for v in (mug, bowl, ring)}
    with api(session_factory, tmp_path) as client:
        yield Shop(client, merchant_headers(session_factory), session_factory, ids)


def test_planning_needs_a_merchant_key(shop: Shop) -> None:
    for path in ROUTES:
        assert shop.client.get(path).status_code == 401
        assert shop.client.get(path, headers=SERVICE).status_code == 401
        assert shop.client.get(
            path, headers={"Authorization": "Bearer atk_not-a-key"}).status_code == 401
        assert shop.get(path).status_code == 200


def test_forecast_per_product_from_paid_orders(shop: Shop) -> None:
    # when
    response = shop.get("/api/merchant/forecast", weeks=8)
    # then
    assert response.status_code == 200
    body = response.json()
    by_id = {p["product_id"]: p for p in body["products"]}
    bowl = by_id[shop.ids["BOWL-1"]]
    assert bowl["units_sold"] == 60  # not the 50 cancelled, not this week's 30
    assert bowl["method"] == "ses" and bowl["weeks_since_first_sale"] == 20
    assert [w["week_start"] for w in bowl["weeks"]] == [
        (this_monday() + timedelta(weeks=i)).isoformat() for i in range(8)]
    for week in bowl["weeks"]:  # sold 3 every week: expects 3 every week
        assert week["forecast"] == pytest.approx(3.0)
        assert week["low"] <= 3 <= week["high"]
    assert bowl["total"] == pytest.approx(24.0)
    mug = by_id[shop.ids["MUG-P"]]
    assert mug["units_sold"] == 20 and mug["made_to_order"] is True  # not the unpaid 50
    assert all(w["forecast"] == pytest.approx(1.0) for w in mug["weeks"])
    vase = next(p for p in body["products"] if p["skus"] == ["VASE-1"])
    assert vase["method"] == "none" and vase["total"] == 0
    assert [p["total"] for p in body["products"]] == sorted(
        (p["total"] for p in body["products"]), reverse=True)
    assert body["count"] == 4 and body["level"] == 0.8


def test_forecast_filters_and_pages(shop: Shop) -> None:
    body = shop.get("/api/merchant/forecast", weeks=3, category="Jewellery").json()
    assert [p["skus"] for p in body["products"]] == [["RING-1"]]
    assert len(body["products"][0]["weeks"]) == 3
    page = shop.get("/api/merchant/forecast", limit=1, offset=1).json()
    assert page["count"] == 4 and len(page["products"]) == 1
    assert page["products"][0]["skus"] == ["MUG-P"]  # second busiest after the bowl


@pytest.mark.parametrize(("path", "params"), [
    ("/api/merchant/forecast", {"weeks": 0}),
    ("/api/merchant/forecast", {"weeks": 27}),
    ("/api/merchant/forecast", {"weeks": "eight"}),
    ("/api/merchant/forecast", {"level": 1.5}),
    ("/api/merchant/forecast", {"limit": 0}),
    ("/api/merchant/production-plan", {"weeks": 100}),
    ("/api/merchant/production-plan", {"capacity": -1}),
    ("/api/merchant/production-plan", {"capacity": "inf"}),
    ("/api/merchant/restock-suggestions", {"service_level": 0.3}),
])
def test_bad_input_is_refused_with_a_clear_error(shop: Shop, path: str,
                                                 params: dict[str, Any]) -> None:
    response = shop.get(path, **params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert next(iter(params)) in error["message"]


def _workshop_orders(shop: Shop) -> tuple[str, str, date]:
    today = clock.now().date()
    soon = add_workshop_days(today, 3)
    with shop.db() as session:
        mug = session.get(Variant, _variant_id(session, "MUG-P"))
        bowl = session.get(Variant, _variant_id(session, "BOWL-1"))
        assert mug is not None and bowl is not None
        # five mugs (10 making days) promised in three workshop days, and a bowl from stock
        rush = place(session, at=earlier_today(timedelta(hours=1)), status=OrderStatus.PAID,
                     ready_by=soon, lines=[(mug, 5, {}), (bowl, 1, {})])
        # one inscribed mug (2 + 1 days) promised in six weeks: time enough for it, the
        # rush order and the mugs expected meanwhile (due earlier, so made first)
        calm = place(session, at=earlier_today(timedelta(hours=1)),
                     status=OrderStatus.IN_PRODUCTION, ready_by=today + timedelta(weeks=6),
                     lines=[(mug, 1, {"inscription": "Ada"})])
        session.commit()
    return rush, calm, soon


def _variant_id(session: Session, sku: str) -> int:
    found = session.scalar(select(Variant.id).where(Variant.sku == sku))
    assert found is not None
    return found


def test_production_plan_warns_when_capacity_is_exceeded(shop: Shop) -> None:
    rush, calm, soon = _workshop_orders(shop)
    # when the workshop has one making day a working day
    plan = shop.get("/api/merchant/production-plan", capacity=5).json()
    # then the rush order cannot be ready in time, the calm one can
    assert plan["capacity_days_per_week"] == 5
    assert plan["backlog_days"] == pytest.approx(13.0)  # 5 × 2 + 1 × (2 + 1); no bowl
    late = {x["order_number"]: x for x in plan["late_orders"]}
    assert set(late) == {rush}
    assert late[rush]["ready_by"] == soon.isoformat()
    assert late[rush]["slip_days"] >= 7  # ten days of work in three
    assert late[rush]["expected_ready"] > soon.isoformat()
    assert late[rush]["sku"] == "MUG-P" and late[rush]["quantity"] == 5
    # and new mug orders cannot be promised the quote engine's two days for a while
    assert plan["promise_slips"]
    assert {s["product_id"] for s in plan["promise_slips"]} == {shop.ids["MUG-P"]}
    weeks = plan["weeks"]
    assert len(weeks) == 8
    assert sum(w["order_days"] for w in weeks) == pytest.approx(13.0)
    assert any(w["overloaded"] for w in weeks)
    for week in weeks[1:]:  # a mug a week is forecast, at two making days each
        assert week["forecast_days"] == pytest.approx(2.0)
        assert week["capacity_days"] == 5
        assert [p["product_id"] for p in week["products"]] == [shop.ids["MUG-P"]]
    assert weeks[-1]["carried_over_days"] == pytest.approx(0.0, abs=0.01)


def test_production_plan_with_enough_capacity_keeps_every_promise(shop: Shop) -> None:
    _workshop_orders(shop)
    plan = shop.get("/api/merchant/production-plan", capacity=70).json()
    assert plan["late_orders"] == [] and plan["promise_slips"] == []
    assert not any(w["overloaded"] for w in plan["weeks"][1:])


def test_the_plan_uses_the_shops_capacity_setting(shop: Shop,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rush, _, _ = _workshop_orders(shop)
    get_planning_settings.cache_clear()
    default = shop.get("/api/merchant/production-plan").json()
    assert default["capacity_days_per_week"] == 5
    assert [x["order_number"] for x in default["late_orders"]] == [rush]
    monkeypatch.setenv("ATELIER_WORKSHOP_DAYS_PER_WEEK", "70")
    get_planning_settings.cache_clear()
    try:
        roomy = shop.get("/api/merchant/production-plan").json()
    finally:
        monkeypatch.undo()
        get_planning_settings.cache_clear()
    assert roomy["capacity_days_per_week"] == 70 and roomy["late_orders"] == []


def test_making_days_attribute_sets_the_effort_per_unit(shop: Shop) -> None:
    _workshop_orders(shop)
    with shop.db() as session:
        product = session.get(Product, shop.ids["MUG-P"])
        assert product is not None
        product.attributes = {"made_to_order": "yes", "making_days": "0.5"}
        session.commit()
    plan = shop.get("/api/merchant/production-plan", capacity=5).json()
    assert plan["backlog_days"] == pytest.approx(3.0)  # 6 mugs × half a day
    assert plan["late_orders"] == []
    assert plan["weeks"][1]["products"][0]["making_days_per_unit"] == 0.5


def test_restock_suggests_whole_units_for_low_stock_only(shop: Shop) -> None:
    # when
    body = shop.get("/api/merchant/restock-suggestions").json()
    # then the bowl (2 in stock, 3 sold a week, 21 days to make) is suggested
    assert body["service_level"] == 0.9
    by_sku = {s["sku"]: s for s in body["suggestions"]}
    assert set(by_sku) == {"BOWL-1"}  # the ring has plenty; the mug is made to order
    bowl = by_sku["BOWL-1"]
    assert bowl["action"] == "make" and bowl["lead_time_days"] == 21
    assert bowl["forecast_over_lead_time"] == pytest.approx(9.0)
    assert bowl["target_stock"] >= 10  # forecast plus safety stock
    assert bowl["safety_stock"] == bowl["target_stock"] - 9
    assert bowl["suggested_quantity"] == bowl["target_stock"] - 2
    assert bowl["weeks_of_cover"] == pytest.approx(0.7, abs=0.05)
    # a higher service level holds more stock
    strict = shop.get("/api/merchant/restock-suggestions", service_level=0.99).json()
    assert strict["suggestions"][0]["target_stock"] > bowl["target_stock"]
    # and every stocked variant is listed when asked, bought-in ones to reorder
    everything = shop.get("/api/merchant/restock-suggestions", include_all="true").json()
    listed = {s["sku"]: s for s in everything["suggestions"]}
    assert set(listed) == {"BOWL-1", "RING-1", "VASE-1"}
    assert listed["RING-1"]["action"] == "reorder"
    assert listed["RING-1"]["suggested_quantity"] == 0
    assert listed["VASE-1"]["forecast_over_lead_time"] == 0


def test_a_variant_made_to_order_is_planned_not_restocked(shop: Shop) -> None:
    with shop.db() as session:
        vase = session.get(Variant, _variant_id(session, "VASE-1"))
        assert vase is not None
        vase.attributes = {"made_to_order": "yes"}
        session.commit()
    products = shop.get("/api/merchant/forecast").json()["products"]
    assert next(p for p in products if p["skus"] == ["VASE-1"])["made_to_order"] is True
    listed = shop.get("/api/merchant/restock-suggestions", include_all="true").json()
    assert {s["sku"] for s in listed["suggestions"]} == {"BOWL-1", "RING-1"}
