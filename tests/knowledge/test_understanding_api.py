"""A product the merchant adds through the API is understood by its words and its name as
soon as the index holds it: no lookup table, no retraining."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from knowledge.product_index import ProductIndex
from tests.commerce_core.helpers import SERVICE, merchant_headers
from tests.conftest import _clean

URL = "/api/products/search"
BOARD = {
    "name": "Ridgeway Grazing Board", "category": "woodwork",
    "description": "One long plank for a spread of cheese, bread and fruit, oiled by hand.",
    "attributes": {"type": "board", "material": "walnut", "colour": "brown"},
    "variants": [{"sku": "WDW-RDG-001", "price": "75.00", "stock": 4}],
}


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    """The words are read from the index, the same whatever the database (the catalog's
    reads are covered on both by the commerce API's tests)."""
    _clean(sqlite_engine)
    yield sqlite_engine
    _clean(sqlite_engine)


@pytest.fixture
def client(demo_catalog: sessionmaker[Session], demo_index: ProductIndex,
           tmp_path: Path) -> Iterator[TestClient]:
    demo_index.save(tmp_path / "index")  # same catalog, same ids: loaded, not embedded
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    with TestClient(app) as test_client:
        yield test_client


def create_and_wait(client: TestClient, factory: sessionmaker[Session]) -> int:
    """Create the board through the merchant API; return its id once search finds it."""
    created = client.post("/api/merchant/products", headers=merchant_headers(factory),
                          json=BOARD)
    assert created.status_code == 201, created.text
    product = created.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = client.get(URL, headers=SERVICE, params={"q": "Ridgeway", "limit": "1"})
        if [r["id"] for r in found.json()["results"]] == [product]:
            return product
        time.sleep(0.2)
    pytest.fail("the new product never reached the search index")


def test_a_new_type_and_material_are_understood_without_retraining(
        client: TestClient, demo_catalog: sessionmaker[Session]) -> None:
    # given: a type no product had ("board") added a moment ago
    board = create_and_wait(client, demo_catalog)
    # when
    body = client.get(URL, headers=SERVICE, params={
        "q": "a walnut cheese board", "interpret": "true", "limit": "6"}).json()
    # then: the words are read as the catalog's values, and the board is the match
    reading = body["interpretation"]
    assert reading["attributes"] == {"material": ["walnut"], "type": ["cheese board", "board"]}
    assert reading["summary"] == "walnut · cheese board" and reading["relaxed"] == [
        "walnut", "cheese board"]
    assert body["filters"] == ["material=walnut", "type=cheese board/board"]
    first, *others = body["results"]
    assert first["id"] == board and first["matched"]["unmet"] == []
    assert others and all(r["matched"]["unmet"] for r in others)  # close matches, said so


@pytest.mark.parametrize("words", ["Ridgeway Grazing Board", "do you have the ridgeway board?",
                                   "the ridgway grazing bord"])
def test_the_new_product_is_found_first_by_its_name(
        client: TestClient, demo_catalog: sessionmaker[Session], words: str) -> None:
    board = create_and_wait(client, demo_catalog)
    body = client.get(URL, headers=SERVICE, params={"q": words, "interpret": "true",
                                                    "limit": "4"}).json()
    assert body["interpretation"]["product"]["id"] == board
    assert body["interpretation"]["product"]["name"] == "Ridgeway Grazing Board"
    assert body["results"][0]["id"] == board and body["results"][0]["matched"]["named"]
    assert len(body["results"]) == 4 and len({r["id"] for r in body["results"]}) == 4


def test_interpret_reads_without_searching(client: TestClient,
                                           demo_catalog: sessionmaker[Session]) -> None:
    create_and_wait(client, demo_catalog)
    response = client.post("/api/products/interpret", headers=SERVICE,
                           json={"text": "a walnut board under 80 euros"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["attributes"]["material"] == ["walnut"]
    assert body["attributes"]["type"][0] == "board"
    assert {"chopping board", "cheese board", "serving board"} <= set(body["attributes"]["type"])
    assert (body["min_price"], body["max_price"], body["currency"]) == (None, "80.00", "EUR")
    assert body["summary"] == "walnut · board · up to 80.00 EUR"
    assert body["text"] == "a walnut board" and body["product"] is None
    assert [u["words"] for u in body["understood"]] == ["walnut", "board", "under 80 euros"]


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("post", "/api/products/interpret", {"json": {"text": "x" * 501}}),
    ("post", "/api/products/interpret", {"json": {}}),
    ("get", URL, {"params": {"q": "mug", "offset": "-1"}}),
    ("get", URL, {"params": {"q": "mug", "interpret": "maybe"}}),
])
def test_bad_input_is_refused_clearly(client: TestClient, method: str, path: str,
                                      kwargs: dict) -> None:
    response = getattr(client, method)(path, headers=SERVICE, **kwargs)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert client.post("/api/products/interpret", json={"text": "mug"}).status_code == 401
