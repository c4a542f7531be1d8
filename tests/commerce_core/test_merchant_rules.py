"""The merchant's customisation rules through the real API, on SQLite and PostgreSQL: what
the PUT refuses (and that a refusal stores nothing and breaks nothing), and that no rule —
even one written to the database behind the API's back — can make a quote, a cart line,
an order or a payment free, negative or absurdly large, or freeze the app with a regex.

One small shop per backend serves the whole module; each test first puts the baseline
rules back and uses its own shopper, so the tests do not see each other's changes.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models import ChannelIdentity, CustomizationRuleSet, Order, Payment
from tests.commerce_core.helpers import SERVICE, Shopper, api, merchant_headers
from tests.conftest import _clean

CATEGORY = "pottery"
RULES = f"/api/merchant/rules/category/{CATEGORY}"
BOWL, CUP = "POT-BOWL-1", "POT-CUP-1"  # 32.00 and 12.00 (the cheapest in the category)
VASE, URN = "POT-VASE-1", "POT-URN-1"  # 60 000.00 and 45 000.00, in their own category
BASELINE: dict[str, Any] = {
    "base_days": 2,
    "options": [
        {"name": "glaze", "label": "Glaze", "kind": "choice", "values": ["blue", "green"],
         "price_delta_by_value": {"green": "2.00"}},
        {"name": "engraving", "label": "Engraving", "kind": "text", "max_length": 20,
         "pattern": "^[A-Za-z ]*$", "charset": "letters and spaces", "price_delta": "5.00",
         "extra_days": 2, "only_when": [{"attribute": "size", "in": ["small"]}],
         "reason": "Only small pieces can be engraved."},
        {"name": "gift_box", "label": "Gift box", "kind": "boolean", "price_delta": "3.00"},
    ],
}
CHOSEN = {"glaze": "green", "engraving": "Ada", "gift_box": True}
CHOSEN_PRICE = "42.00"  # 32.00 + 2.00 + 5.00 + 3.00


@dataclass
class Shop:
    client: TestClient
    merchant: dict[str, str]
    db: sessionmaker[Session]
    bowl: int
    """The bowl's product id."""

    def put(self, spec: dict[str, Any], path: str = RULES) -> httpx.Response:
        """PUT as JSON; Python's encoder writes an infinite float as ``Infinity``, which
        JSON parsers such as the app's accept."""
        return self.client.put(path, content=json.dumps(spec),
                               headers={**self.merchant, "Content-Type": "application/json"})

    def rules(self, path: str = RULES) -> httpx.Response:
        return self.client.get(path, headers=self.merchant)

    def quote(self, options: dict[str, Any], product: int | None = None) -> httpx.Response:
        return self.client.post(f"/api/products/{product or self.bowl}/quote", headers=SERVICE,
                                json={"options": options})

    def shopper(self, name: str) -> Shopper:
        return Shopper(self.client, name)

    def set_spec(self, spec: dict[str, Any], *, kind: str = "category",
                 value: str = CATEGORY) -> None:
        """Write a rule set straight into the database, the way rules written before
        validation existed (or by hand) may sit there."""
        with self.db() as session:
            row = session.scalar(select(CustomizationRuleSet).where(
                CustomizationRuleSet.scope_kind == kind,
                CustomizationRuleSet.scope_value == value))
            if row is None:
                session.add(CustomizationRuleSet(scope_kind=kind, scope_value=value,
                                                 spec=spec, source="database"))
            else:
                row.spec = spec
            session.commit()

    def count(self, model: type[Order] | type[Payment], shopper: str) -> int:
        """How many orders or payments the web shopper ``shopper`` has."""
        with self.db() as session:
            query = select(func.count(model.id))
            if model is Payment:
                query = query.join(Order, Order.id == Payment.order_id)
            query = query.join(ChannelIdentity,
                               ChannelIdentity.customer_id == Order.customer_id)
            return session.scalar(query.where(ChannelIdentity.channel == "web",
                                              ChannelIdentity.external_id == shopper)) or 0


def _product(client: TestClient, merchant: dict[str, str], name: str, category: str,
             variants: list[tuple[str, str, str]]) -> int:
    created = client.post("/api/merchant/products", headers=merchant, json={
        "name": name, "category": category, "attributes": {"type": "bowl"},
        "variants": [{"sku": sku, "price": price, "stock": 500, "attributes": {"size": size}}
                     for sku, price, size in variants]})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture(scope="module", params=["sqlite_engine", "postgres_engine"],
                ids=["sqlite", "postgresql"])
def module_shop(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    engine = request.getfixturevalue(request.param)
    _clean(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with api(factory, tmp_path_factory.mktemp("knowledge")) as client:
        merchant = merchant_headers(factory)
        bowl = _product(client, merchant, "Speckled Bowl", CATEGORY,
                        [(BOWL, "32.00", "small"), ("POT-BOWL-2", "36.00", "large")])
        _product(client, merchant, "Tiny Cup", CATEGORY, [(CUP, "12.00", "small")])
        _product(client, merchant, "Floor Vase", "monuments", [(VASE, "60000.00", "large")])
        _product(client, merchant, "Garden Urn", "monuments", [(URN, "45000.00", "large")])
        yield Shop(client, merchant, factory, bowl)
    _clean(engine)


@pytest.fixture
def shop(module_shop: Shop) -> Shop:
    """The module's shop with only the baseline rules."""
    for scope in (f"sku/{BOWL}", f"sku/{CUP}", "category/monuments"):
        module_shop.client.delete(f"/api/merchant/rules/{scope}", headers=module_shop.merchant)
    saved = module_shop.put(BASELINE)
    assert saved.status_code == 200, saved.text
    return module_shop


def option(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in spec["options"] if o["name"] == name)


def edit(name: str, **changes: Any) -> Callable[[dict[str, Any]], None]:
    """A change to one option of the baseline (``None`` removes a key)."""
    def apply(spec: dict[str, Any]) -> None:
        target = option(spec, name)
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    return apply


def top(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(spec: dict[str, Any]) -> None:
        spec.update(changes)
    return apply


def add(extra: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def apply(spec: dict[str, Any]) -> None:
        spec["options"].append(extra)
    return apply


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(spec: dict[str, Any]) -> None:
        for change in changes:
            change(spec)
    return apply


# (id, change to the baseline, option named in the error, word the problem is told with)
MALFORMED = [
    ("only_when_is_a_string", edit("engraving", only_when="glaze"), "engraving", "only_when"),
    ("condition_without_in", edit("engraving", only_when=[{"option": "glaze"}]),
     "engraving", "in"),
    ("condition_with_in_as_a_string",
     edit("engraving", only_when=[{"attribute": "size", "in": "small"}]), "engraving", "in"),
    ("condition_names_nothing", edit("engraving", only_when=[{"in": ["small"]}]),
     "engraving", "attribute"),
    ("condition_names_attribute_and_option",
     edit("engraving", only_when=[{"attribute": "size", "option": "glaze", "in": ["x"]}]),
     "engraving", "attribute"),
    ("not_when_is_a_dict", edit("engraving", not_when={"option": "glaze", "in": ["blue"]}),
     "engraving", "not_when"),
    ("only_when_names_a_missing_option",
     edit("engraving", only_when=[{"option": "glitter", "in": ["gold"]}]), "engraving",
     "glitter"),
    ("option_depends_on_itself",
     edit("engraving", only_when=[{"option": "engraving", "in": ["Ada"]}]), "engraving",
     "itself"),
    ("options_depend_on_each_other", both(
        edit("glaze", only_when=[{"option": "engraving", "in": ["Ada"]}]),
        edit("engraving", only_when=[{"option": "glaze", "in": ["blue"]}])), "glaze", "cycle"),
    ("condition_value_not_among_the_choices",
     edit("engraving", only_when=[{"option": "glaze", "in": ["purple"]}]), "engraving",
     "purple"),
    ("condition_on_a_box_is_not_true_or_false",
     edit("engraving", only_when=[{"option": "gift_box", "in": ["maybe"]}]), "engraving",
     "true or false"),
    ("condition_on_a_text_is_true_or_false",
     edit("gift_box", only_when=[{"option": "engraving", "in": [True]}]), "gift_box",
     "is a text"),
    ("condition_on_a_text_the_text_refuses",
     edit("gift_box", only_when=[{"option": "engraving", "in": ["Ada!"]}]), "gift_box",
     "can only use letters and spaces"),
    ("condition_on_a_text_longer_than_it_may_be",
     edit("gift_box", only_when=[{"option": "engraving", "in": ["A" * 21]}]), "gift_box",
     "at most 20 characters"),
    ("max_length_is_text", edit("engraving", max_length="twenty"), "engraving", "max_length"),
    ("max_length_is_a_numeric_string", edit("engraving", max_length="20"), "engraving",
     "max_length"),
    ("max_length_is_zero", edit("engraving", max_length=0), "engraving", "max_length"),
    ("max_length_is_huge", edit("engraving", max_length=100_000), "engraving", "max_length"),
    ("min_length_is_text", edit("engraving", min_length="one"), "engraving", "min_length"),
    ("min_length_above_max_length", edit("engraving", min_length=30), "engraving",
     "min_length"),
    ("extra_days_is_text", edit("engraving", extra_days="two"), "engraving", "extra_days"),
    ("extra_days_is_negative", edit("engraving", extra_days=-3), "engraving", "extra_days"),
    ("extra_days_is_a_fraction", edit("engraving", extra_days=1.5), "engraving", "extra_days"),
    ("extra_days_above_a_year", edit("engraving", extra_days=400), "engraving", "extra_days"),
    ("base_days_is_text", top(base_days="3"), "*", "base_days"),
    ("base_days_is_a_billion", top(base_days=1e9), "*", "base_days"),
    ("choice_values_is_a_number", edit("glaze", values=5), "glaze", "values"),
    ("choice_values_is_empty", edit("glaze", values=[]), "glaze", "values"),
    ("choice_values_hold_a_list", edit("glaze", values=[["blue"]]), "glaze", "values"),
    ("choice_values_repeat", edit("glaze", values=["blue", "Blue "]), "glaze", "twice"),
    ("choice_without_values", edit("glaze", values=None), "glaze", "values"),
    ("price_delta_is_infinite", edit("gift_box", price_delta="Infinity"), "gift_box",
     "price_delta"),
    ("price_delta_is_nan", edit("gift_box", price_delta="NaN"), "gift_box", "price_delta"),
    ("price_delta_is_a_float_infinity", edit("gift_box", price_delta=float("inf")),
     "gift_box", "price_delta"),
    ("price_delta_is_1e30", edit("gift_box", price_delta="1e30"), "gift_box", "price_delta"),
    ("price_delta_has_tenths_of_cents", edit("gift_box", price_delta="3.005"), "gift_box",
     "price_delta"),
    ("price_delta_is_a_word", edit("gift_box", price_delta="three"), "gift_box",
     "price_delta"),
    ("price_delta_percent_above_1000", edit("gift_box", price_delta_percent=5000),
     "gift_box", "price_delta_percent"),
    ("price_delta_by_value_of_an_unknown_value",
     edit("glaze", price_delta_by_value={"red": "2.00"}), "glaze", "red"),
    ("price_delta_by_value_is_a_list", edit("glaze", price_delta_by_value=["2.00"]),
     "glaze", "price_delta_by_value"),
    ("pattern_is_a_number", edit("engraving", pattern=123), "engraving", "pattern"),
    ("pattern_with_a_backreference", edit("engraving", pattern="^(a)\\1$"), "engraving",
     "pattern"),
    ("pattern_with_a_lookahead", edit("engraving", pattern="^(?=A).*$"), "engraving",
     "pattern"),
    ("pattern_does_not_compile", edit("engraving", pattern="^[A-Z"), "engraving", "pattern"),
    ("pattern_on_a_box", edit("gift_box", pattern="^a$"), "gift_box", "pattern"),
    ("misspelt_key", edit("gift_box", pric_delta="3.00"), "gift_box", "pric_delta"),
    ("unknown_kind", edit("gift_box", kind="sparkly"), "gift_box", "kind"),
    ("required_is_a_word", edit("gift_box", required="maybe"), "gift_box", "required"),
    ("name_is_not_snake_case", add({"name": "Gift Wrap!", "kind": "boolean"}), "Gift Wrap!",
     "name"),
    ("name_is_missing", add({"kind": "boolean"}), "option 4", "name"),
    ("option_defined_twice", add({"name": "gift_box", "kind": "boolean"}), "gift_box",
     "twice"),
    ("no_options", top(options=[]), "*", "options"),
    ("unknown_top_level_key", top(basedays=3), "*", "basedays"),
]


@pytest.mark.parametrize(("change", "named", "problem"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_rules_are_refused_naming_the_option_and_break_nothing(
        shop: Shop, change: Callable[[dict[str, Any]], None], named: str,
        problem: str) -> None:
    # given the baseline rules, and a malformed version of them
    before = shop.rules().json()
    spec = copy.deepcopy(BASELINE)
    change(spec)
    # when
    refused = shop.put(spec)
    # then the rules are refused, naming the option and the problem
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_rules"
    assert any(d["option"] == named and problem in f"{d['field']} {d['message']}".lower()
               for d in error["details"]), error
    # and nothing was stored: the product still quotes and sells with the previous rules
    assert shop.rules().json() == before
    quoted = shop.quote(CHOSEN)
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["unit_price"] == CHOSEN_PRICE
    added = shop.shopper(uuid.uuid4().hex).add(BOWL, **CHOSEN)
    assert added.status_code == 201, added.text
    assert added.json()["lines"][0]["unit_price"] == CHOSEN_PRICE


def test_valid_rules_are_stored_normalised(shop: Shop) -> None:
    # given rules written with YAML's loose types: numbers for amounts, numbers as values
    spec = copy.deepcopy(BASELINE)
    spec["options"].append({"name": "size_mark", "kind": "choice", "values": [1, 2.5, "3"],
                            "price_delta_by_value": {"2.5": 4}, "extra_days": 1})
    # when
    saved = shop.put(spec)
    # then they come back in one normalised form
    assert saved.status_code == 200, saved.text
    stored = shop.rules().json()
    assert stored == saved.json()
    assert option(stored, "size_mark") == {
        "name": "size_mark", "kind": "choice", "values": ["1", "2.5", "3"],
        "price_delta_by_value": {"2.5": "4"}, "extra_days": 1}
    assert stored["scope"] == {"category": CATEGORY}
    assert shop.quote({"size_mark": "2.5"}).json()["unit_price"] == "36.00"


@pytest.mark.parametrize(("change", "named"), [
    (edit("gift_box", price_delta="-100"), "gift_box"),
    (edit("gift_box", price_delta="-12.00"), "gift_box"),
    (edit("gift_box", price_delta_percent=-300), "gift_box"),
    (edit("gift_box", price_delta_percent=-100), "gift_box"),
    (edit("glaze", price_delta_by_value={"green": "-20.00"}), "glaze"),
    (both(edit("gift_box", price_delta="-6.00"), edit("glaze", price_delta="-7.00")),
     "glaze"),
], ids=["fixed", "exactly_the_cheapest_price", "percent_below_-100", "percent_-100",
        "by_value", "two_discounts_together"])
def test_rules_that_could_make_a_product_free_or_negative_are_refused(
        shop: Shop, change: Callable[[dict[str, Any]], None], named: str) -> None:
    spec = copy.deepcopy(BASELINE)
    change(spec)
    refused = shop.put(spec)
    assert refused.status_code == 422, refused.text
    details = refused.json()["error"]["details"]
    assert any(d["option"] == named for d in details), details
    assert shop.rules().json()["options"] == shop.put(BASELINE).json()["options"]


def test_a_discount_the_cheapest_product_can_carry_is_accepted(shop: Shop) -> None:
    spec = copy.deepcopy(BASELINE)
    edit("gift_box", price_delta="-11.99")(spec)
    assert shop.put(spec).status_code == 200
    cup = shop.client.get("/api/products", headers=SERVICE,
                          params={"category": CATEGORY}).json()["items"][1]["id"]
    assert shop.quote({"gift_box": True}, product=cup).json()["unit_price"] == "0.01"


def test_a_non_positive_price_from_rules_behind_the_api_never_reaches_an_order(
        shop: Shop) -> None:
    # given a cart line priced with the baseline rules
    shopper = shop.shopper("negative-total")
    assert shopper.add(BOWL, **CHOSEN).status_code == 201
    # when the rules in the database are changed past the API to a 100 EUR discount
    spec = shop.rules().json()
    option(spec, "gift_box")["price_delta"] = "-100"
    shop.set_spec(spec)
    # then quoting, adding and checking out are refused with a clear error
    quoted = shop.quote(CHOSEN)
    assert quoted.status_code == 422, quoted.text
    assert quoted.json()["error"]["code"] == "amount_not_positive"
    assert "Speckled Bowl" in quoted.json()["error"]["message"]
    assert shop.shopper("negative-total-2").add(BOWL, **CHOSEN).status_code == 422
    checkout = shopper.checkout()
    assert checkout.status_code == 422, checkout.text
    assert checkout.json()["error"]["code"] == "amount_not_positive"
    # and no order or payment exists for the shopper
    assert shop.count(Order, "negative-total") == 0
    assert shop.count(Payment, "negative-total") == 0


def test_a_payment_is_never_opened_for_a_total_out_of_range(shop: Shop) -> None:
    # given a placed order whose total is then changed in the database
    shopper = shop.shopper("payment-range")
    assert shopper.add(BOWL).status_code == 201
    order = shopper.checkout().json()
    for total, code in [(Decimal("0.00"), "amount_not_positive"),
                        (Decimal("-172.10"), "amount_not_positive"),
                        (Decimal("250000.00"), "amount_too_large")]:
        with shop.db() as session:
            session.execute(update(Order).where(Order.id == order["id"]).values(total=total))
            session.commit()
        # when
        link = shop.client.post(f"/api/orders/{order['id']}/payment",
                                headers={**SERVICE, "Idempotency-Key": f"pay-{total}"})
        # then
        assert link.status_code == 422, link.text
        assert link.json()["error"]["code"] == code
    assert shop.count(Payment, "payment-range") == 0


def test_lines_and_orders_above_the_maximum_total_are_refused(shop: Shop) -> None:
    shopper = shop.shopper("big-spender")
    # a line of 2 x 60 000 is above the 100 000 maximum
    too_many = shopper.add(VASE, quantity=2)
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["error"]["code"] == "amount_too_large"
    added = shopper.add(VASE)
    assert added.status_code == 201
    assert shopper.add(VASE).status_code == 422  # the same line grown to 2
    line = added.json()["lines"][0]["id"]
    grown = shop.client.patch(f"{shopper.base}/cart/lines/{line}", headers=SERVICE,
                              json={"quantity": 2})
    assert grown.status_code == 422, grown.text
    assert grown.json()["error"]["code"] == "amount_too_large"
    # two lines each below it, the order above it
    assert shopper.add(URN).status_code == 201
    checkout = shopper.checkout()
    assert checkout.status_code == 422, checkout.text
    assert checkout.json()["error"]["code"] == "amount_too_large"
    assert shop.count(Order, "big-spender") == 0
    # and rules that would price one unit above it
    saved = shop.put({"options": [{"name": "gilding", "kind": "boolean",
                                   "price_delta_percent": 100}]},
                     "/api/merchant/rules/category/monuments")
    assert saved.status_code == 200, saved.text
    vase = shop.client.get("/api/products", headers=SERVICE,
                           params={"category": "monuments"}).json()["items"][0]["id"]
    quoted = shop.quote({"gilding": True}, product=vase)
    assert quoted.status_code == 422, quoted.text
    assert quoted.json()["error"]["code"] == "amount_too_large"


def test_a_catastrophic_pattern_is_answered_promptly(shop: Shop) -> None:
    # given a pattern that takes exponential time in a backtracking engine
    spec = copy.deepcopy(BASELINE)
    edit("engraving", pattern="^(a+)+$", max_length=60, charset="the letter a")(spec)
    assert shop.put(spec).status_code == 200
    answers: dict[str, httpx.Response] = {}

    def ask() -> None:
        answers["bad"] = shop.quote({"engraving": "a" * 45 + "!"})
        answers["good"] = shop.quote({"engraving": "a" * 45})

    # when it is asked about in a thread
    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    worker.join(timeout=10)  # a generous guard, not a performance target
    # then both answers came, and they are right
    assert not worker.is_alive(), "the quote is still matching the pattern"
    assert answers["bad"].status_code == 422
    assert [d["code"] for d in answers["bad"].json()["error"]["details"]] == ["bad_characters"]
    assert answers["good"].status_code == 200


def test_rules_stored_before_validation_give_a_clear_error_not_a_crash(
        shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    # given product rules in the database that no longer parse
    shop.set_spec({"scope": {"sku": BOWL}, "options": [
        {"name": "stamp", "kind": "text", "only_when": "glaze", "max_length": "ten"}]},
        kind="sku", value=BOWL)
    # when the product is quoted and added to a cart
    with caplog.at_level(logging.ERROR):
        quoted = shop.quote({})
        added = shop.shopper("stale-rules").add(BOWL)
    # then the answer says the product cannot be personalised now, and the log says why
    assert quoted.status_code == 409, quoted.text
    assert quoted.json()["error"]["code"] == "customization_unavailable"
    assert "Speckled Bowl" in quoted.json()["error"]["message"]
    assert added.status_code == 409
    assert any(BOWL in r.getMessage() and "stamp" in r.getMessage() for r in caplog.records)
    # the product page still opens, offering no options rather than broken ones
    page = shop.client.get(f"/api/products/{shop.bowl}", headers=SERVICE)
    assert page.status_code == 200 and page.json()["customization"] == []
    # and the merchant still sees what is stored, to fix it
    assert shop.rules(f"/api/merchant/rules/sku/{BOWL}").json()["options"][0]["name"] == "stamp"
    fixed = shop.put({"options": [{"name": "stamp", "kind": "text", "max_length": 10}]},
                     f"/api/merchant/rules/sku/{BOWL}")
    assert fixed.status_code == 200, fixed.text
    assert shop.quote({"stamp": "AB"}).status_code == 200


def test_product_rules_may_depend_on_the_category_rules_that_exist(shop: Shop) -> None:
    # given product rules with an option that depends on the category's glaze
    product_rules = f"/api/merchant/rules/sku/{BOWL}"
    spec = {"options": [{"name": "rim", "kind": "boolean", "price_delta": "1.00",
                         "only_when": [{"option": "glaze", "in": ["blue"]}]}]}
    assert shop.put(spec, product_rules).status_code == 200
    assert shop.quote({"glaze": "blue", "rim": True}).json()["unit_price"] == "33.00"
    # when the category rules would drop the glaze that option depends on
    without_glaze = copy.deepcopy(BASELINE)
    without_glaze["options"] = [o for o in without_glaze["options"] if o["name"] != "glaze"]
    refused = shop.put(without_glaze)
    # then they are refused, naming the product's option
    assert refused.status_code == 422, refused.text
    assert any(d["option"] == "rim" and "glaze" in d["message"]
               for d in refused.json()["error"]["details"])
    # as is deleting the category rules
    deleted = shop.client.delete(RULES, headers=shop.merchant)
    assert deleted.status_code == 422, deleted.text
    assert shop.quote({"glaze": "blue", "rim": True}).json()["unit_price"] == "33.00"
    # and product rules naming an option nobody defines are refused too
    orphan = {"options": [{"name": "rim", "kind": "boolean",
                           "only_when": [{"option": "handle", "in": [True]}]}]}
    assert shop.put(orphan, product_rules).status_code == 422


def test_valid_rules_pass_every_guard_from_quote_to_payment_link(shop: Shop) -> None:
    """The happy path through every guard: quote, line, order and payment link."""
    shopper = shop.shopper("happy")
    assert shopper.add(BOWL, **CHOSEN).status_code == 201
    order = shopper.checkout()
    assert order.status_code == 201, order.text
    assert order.json()["total"] == "46.90"  # 42.00 + 4.90 shipping
    link = shop.client.post(f"/api/orders/{order.json()['id']}/payment",
                            headers={**SERVICE, "Idempotency-Key": "happy-1"})
    assert link.status_code == 201, link.text
    assert link.json()["amount"] == "46.90"
