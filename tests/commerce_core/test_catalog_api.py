from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.api import create_app
from commerce_core.db import get_session


@pytest.fixture
def client(demo_catalog: sessionmaker[Session]) -> Iterator[TestClient]:
    app = create_app()

    def session_override() -> Iterator[Session]:
        with demo_catalog() as session:
            yield session

    app.dependency_overrides[get_session] = session_override
    with TestClient(app, headers={"Authorization": "Bearer change-me"}) as client:
        yield client


def test_list_products_pages_and_filters_by_category(client: TestClient) -> None:
    page = client.get("/api/products", params={"category": "leather", "limit": 5}).json()
    assert page["total"] >= 30 and len(page["items"]) == 5
    assert {item["category"] for item in page["items"]} == {"leather"}
    second = client.get("/api/products", params={"category": "leather", "limit": 5,
                                                 "offset": 5}).json()
    assert not {i["id"] for i in page["items"]} & {i["id"] for i in second["items"]}


def test_product_detail_has_variants_prices_as_decimal_strings_and_options(
        client: TestClient) -> None:
    first = client.get("/api/products", params={"category": "jewellery", "limit": 200}).json()
    ring = next(p for p in first["items"] if p["handle"] == "silver-stacking-ring")
    detail = client.get(f"/api/products/{ring['id']}").json()
    assert len(detail["variants"]) >= 2
    assert all(isinstance(v["price"], str) and "." in v["price"] for v in detail["variants"])
    assert detail["price"] == min(detail["variants"], key=lambda v: float(v["price"]))["price"]
    assert {o["name"] for o in detail["customization"]} >= {"engraving"}


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/products/999999", 404, "product_not_found"),
    ("/api/products?limit=0", 422, "invalid_request"),
    ("/api/products?limit=abc", 422, "invalid_request"),
    ("/api/products?offset=-1", 422, "invalid_request"),
])
def test_bad_requests_get_a_clear_error(client: TestClient, path: str, status: int,
                                        code: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
