"""Odd input to the commerce API — ids past the database's integers, NUL and other control
characters, broken CSV — gets a clear 4xx JSON error on SQLite and PostgreSQL, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.commerce_core.helpers import SERVICE, api, merchant_headers

HEADER = "sku,name,description,category,price,currency,stock,attributes,image_url\n"
HUGE_IDS = [2**31, 2**63, 2**64]


@pytest.fixture
def client(demo_catalog: sessionmaker[Session], tmp_path: Path) -> Iterator[TestClient]:
    with api(demo_catalog, tmp_path) as client:
        client.headers.update(merchant_headers(demo_catalog))
        yield client


def _error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


ID_ROUTES = [
    ("GET", "/api/products/{id}"),
    ("POST", "/api/products/{id}/quote"),
    ("PATCH", "/api/merchant/products/{id}"),
    ("DELETE", "/api/merchant/products/{id}"),
    ("POST", "/api/merchant/products/{id}/variants"),
    ("PATCH", "/api/merchant/variants/{id}"),
    ("DELETE", "/api/merchant/variants/{id}"),
    ("GET", "/api/merchant/orders/{id}"),
    ("POST", "/api/merchant/orders/{id}/production"),
    ("POST", "/api/merchant/orders/{id}/ship"),
    ("POST", "/api/merchant/orders/{id}/refund"),
    ("GET", "/api/orders/{id}/shipment"),
]


def test_ids_past_the_database_integers_are_refused_clearly(client: TestClient) -> None:
    for method, path in ID_ROUTES:
        body = {"sku": "X-1", "price": "1.00", "stock": 1} if path.endswith("variants") else {}
        for huge in HUGE_IDS:
            response = client.request(method, path.format(id=huge),
                                      json=body if method in ("POST", "PATCH") else None)
            error = _error(response, 422)
            assert error["code"] == "invalid_request", (method, path)
            assert "2147483647" in error["message"]


def test_control_characters_in_the_category_filter_are_refused(client: TestClient) -> None:
    for bad in ("a\x00b", "cer\x1bamics", "line\nbreak"):
        error = _error(client.get("/api/products", params={"category": bad}), 422)
        assert "control characters" in error["message"]


def test_nul_in_an_order_number_reads_as_not_found(client: TestClient) -> None:
    for path in ("/api/shoppers/web/ada/orders/AT-%00X", "/api/shoppers/web/ada/orders/"
                 "AT-%00X/shipment"):
        assert _error(client.get(path, headers=SERVICE), 404)["code"] == "order_not_found"
    for action in ("cancel", "return"):
        response = client.post(f"/api/shoppers/web/ada/orders/AT-%00X/{action}",
                               headers=SERVICE, json={})
        assert _error(response, 404)["code"] == "order_not_found"
    lookup = client.post("/api/orders/lookup", headers=SERVICE,
                         json={"number": "AT-\x00X", "email": "ada@example.com"})
    assert _error(lookup, 404)["code"] == "order_not_found"


def test_nul_in_a_rules_scope_is_refused(client: TestClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = client.request(method, "/api/merchant/rules/category/a%00b",
                                  json={"options": []} if method == "PUT" else None)
        assert "control characters" in _error(response, 422)["message"]


def test_nul_in_a_product_is_refused(client: TestClient) -> None:
    product = {"name": "Raku Bowl", "category": "ceramics",
               "variants": [{"sku": "RAKU-9", "price": "58.00", "stock": 3}]}
    for field in ("name", "description", "category", "image_url", "handle"):
        response = client.post("/api/merchant/products", json={**product, field: "Ra\x00ku"})
        assert "control characters" in _error(response, 422)["message"], field
    attributes = client.post("/api/merchant/products",
                             json={**product, "attributes": {"colour": "bl\x00ue"}})
    assert "control characters" in _error(attributes, 422)["message"]
    created = client.post("/api/merchant/products", json=product).json()
    patched = client.patch(f"/api/merchant/products/{created['id']}",
                           json={"name": "Ra\x00ku"})
    assert "control characters" in _error(patched, 422)["message"]


def test_a_multi_line_description_is_still_accepted(client: TestClient) -> None:
    response = client.post("/api/merchant/products", json={
        "name": "Raku Bowl", "category": "ceramics", "description": "Fired outdoors.\n\tCrackled.",
        "variants": [{"sku": "RAKU-9", "price": "58.00", "stock": 3}]})
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "Fired outdoors.\n\tCrackled."


def test_control_characters_in_csv_cells_are_reported_per_row(client: TestClient) -> None:
    text = HEADER + ("OK-1,Good Mug,Fine.,ceramics,20.00,EUR,5,type:mug,/m.svg\n"
                     "NUL-1,Mug\x00X,Fine.,ceramics,20.00,EUR,5,type:mug,/m.svg\n"
                     "ESC-1,Mug,Fi\x1bne.,ceramics,20.00,EUR,5,type:mug,/m.svg\n"
                     'OK-2,Good Jug,"Two\nlines.",ceramics,20.00,EUR,5,type:jug,/m.svg\n')
    report = client.post("/api/merchant/catalog/import", content=text.encode())
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["created"], body["rows"]) == (2, 4)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, "name"),
                                                                  (4, "description")]
    assert all("control character" in e["reason"] for e in body["errors"])


def test_unreadable_csv_is_a_clear_file_error(client: TestClient) -> None:
    for cell, words in (("x" * 140_000, "longer than 131,072 characters"),
                        ("Mu\rg", "line break")):
        text = HEADER + "OK-1,Good Mug,Fine.,ceramics,20.00,EUR,5,type:mug,/m.svg\n" + \
            f"BIG-1,{cell},Fine.,ceramics,20.00,EUR,5,type:mug,/m.svg\n"
        response = client.post("/api/merchant/catalog/import", content=text.encode())
        error = _error(response, 422)
        assert error["code"] == "invalid_file"
        assert "row 3" in error["message"] and words in error["message"], error
