"""The next option to ask a shopper who personalises a piece one option at a time: the
commerce core decides it from the rules (order, conditions on earlier answers, unticked
boxes) and checks the choices so far — through the real API on the demo shop, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.commerce_core.helpers import SERVICE, api, product_id


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session], tmp_path: Path
         ) -> Iterator[tuple[TestClient, sessionmaker[Session]]]:
    with api(demo_catalog, tmp_path) as client:
        yield client, demo_catalog


def step(shop: tuple[TestClient, sessionmaker[Session]], sku: str,
         options: dict[str, Any] | None = None, asked: list[str] | None = None) -> Any:
    client, factory = shop
    response = client.post(f"/api/products/{product_id(factory, sku)}/next-option",
                           headers=SERVICE,
                           json={"options": options or {}, "asked": asked or []})
    assert response.status_code == 200, response.text
    return response.json()


def declined_in_turn(shop: tuple[TestClient, sessionmaker[Session]], sku: str,
                     options: dict[str, Any] | None = None) -> list[str]:
    """The options asked, in turn, when the shopper declines each (after ``options``)."""
    asked = list(options or {})
    while (option := step(shop, sku, options, asked)["option"]) is not None:
        asked.append(option["name"])
    return asked[len(options or {}):]


def test_the_first_option_comes_with_its_question_and_allowed_values(shop: Any) -> None:
    # when a mug is about to be personalised
    first = step(shop, "CER-MUG-001")
    # then the glaze is asked, in the shop's words, with the values it may take
    assert first["problems"] == []
    assert first["option"] == {
        "name": "glaze", "label": "Glaze colour", "kind": "choice", "required": False,
        "prompt": "Glaze colour (10 more making days): which would you like?",
        "values": ["cobalt blue", "sage green", "speckled white", "matte black",
                   "dusty pink"],
        "max_length": None, "min_length": None, "charset": None, "price_delta": "0.00",
        "price_delta_percent": None, "extra_days": 10}
    # and a text tells its price, days and what it may hold
    text = step(shop, "CER-MUG-001", asked=["glaze"])["option"]
    assert (text["name"], text["kind"], text["max_length"]) == ("inscription", "text", 20)
    assert text["prompt"] == ("Hand-painted inscription (+6.00 EUR, 2 more making days): what "
                              "should it say? (up to 20 characters; letters, digits, spaces "
                              "and . , ! ? ' & -)")


def test_options_are_asked_in_the_files_order_with_required_ones_first(shop: Any) -> None:
    assert declined_in_turn(shop, "CER-MUG-001") == ["glaze", "inscription", "gold_rim",
                                                     "gift_box"]
    # the wedding band's size is required: asked first, before its category's options
    assert declined_in_turn(shop, "JWL-RNG-010", {"band_size": "m"}) == [
        "ring_resize", "gift_box", "band_width", "inside_engraving"]
    assert step(shop, "JWL-RNG-010")["option"]["name"] == "band_size"


def test_an_option_that_an_earlier_answer_rules_out_is_not_asked(shop: Any) -> None:
    # gold lustre does not go on matte black
    assert declined_in_turn(shop, "CER-MUG-001", {"glaze": "matte black"}) == [
        "inscription", "gift_box"]
    # a frame's colour only once a frame is ticked: an unticked box counts as "no"
    assert "frame_colour" not in declined_in_turn(shop, "PRT-ART-004")
    assert declined_in_turn(shop, "PRT-ART-004", {"frame": True})[:2] == [
        "frame_colour", "mount"]
    # a 2 mm band is too narrow to engrave inside
    assert "inside_engraving" not in declined_in_turn(
        shop, "JWL-RNG-010", {"band_size": "m", "band_width": "2 mm"})


def test_the_choices_so_far_are_checked_naming_the_option(shop: Any) -> None:
    # a value the rules do not allow, and an option the piece does not have
    checked = step(shop, "CER-MUG-001", {"glaze": "tartan", "glitter": True},
                   asked=["glaze"])
    assert [(p["option"], p["code"]) for p in checked["problems"]] == [
        ("glaze", "not_allowed_value"), ("*", "unknown_option")]
    assert checked["problems"][0]["message"] == (
        "Glaze colour must be one of: cobalt blue, sage green, speckled white, matte black, "
        "dusty pink.")
    assert checked["option"]["name"] == "inscription"
    # a required option is missing only once it was asked
    assert step(shop, "JWL-RNG-010")["problems"] == []
    declined = step(shop, "JWL-RNG-010", asked=["band_size"])
    assert [(p["option"], p["code"], p["message"]) for p in declined["problems"]] == [
        ("band_size", "required", "Ring size is required.")]


def test_once_everything_was_asked_there_is_no_next_option(shop: Any) -> None:
    done = step(shop, "CER-MUG-001", {"glaze": "sage green", "gift_box": True},
                asked=["glaze", "inscription", "gold_rim", "gift_box"])
    assert done == {**done, "problems": [], "option": None}


@pytest.mark.parametrize(("body", "field"), [
    ({"asked": ["Not A Name"]}, "asked"),
    ({"asked": "glaze"}, "asked"),
    ({"asked": [f"o{i}" for i in range(300)]}, "asked"),
    ({"options": [1, 2]}, "options"),
])
def test_a_malformed_request_is_refused(shop: Any, body: dict[str, Any], field: str) -> None:
    client, factory = shop
    response = client.post(f"/api/products/{product_id(factory, 'CER-MUG-001')}/next-option",
                           headers=SERVICE, json=body)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_it_needs_the_service_token_and_a_real_product(shop: Any) -> None:
    client, factory = shop
    mug = product_id(factory, "CER-MUG-001")
    assert client.post(f"/api/products/{mug}/next-option", json={}).status_code == 401
    missing = client.post("/api/products/999999/next-option", headers=SERVICE, json={})
    assert (missing.status_code, missing.json()["error"]["code"]) == (404,
                                                                      "product_not_found")
