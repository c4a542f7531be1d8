"""``GET /api/products/search`` through the real app, on the demo shop."""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from knowledge.product_index import ProductIndex

SERVICE = {"Authorization": "Bearer change-me"}
URL = "/api/products/search"


@pytest.fixture
def client(demo_db: sessionmaker[Session], demo_index: ProductIndex,
           tmp_path: Path) -> Iterator[TestClient]:
    demo_index.save(tmp_path / "index")  # the app loads it instead of embedding again
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_db,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
    with TestClient(app) as test_client:
        yield test_client


def _id(index: ProductIndex, sku: str) -> int:
    return next(d.id for d in index.docs.values() if any(v.sku == sku for v in d.variants))


def test_the_search_needs_the_service_token(client: TestClient) -> None:
    assert client.get(URL, params={"q": "mug"}).status_code == 401
    assert client.get(URL, params={"q": "mug"},
                      headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_boosts_and_filters_are_applied_and_explained(client: TestClient) -> None:
    params = [("q", "mug"), ("limit", "8"), ("max_price", "30"), ("attr.material", "ceramic")]
    plain = client.get(URL, headers=SERVICE, params=params).json()["results"]
    response = client.get(URL, headers=SERVICE, params=[*params, ("boost.colour", "green,pink")])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["filters"] == ["material=ceramic", "price<=30"]
    assert body["boosts"] == ["colour=green/pink"] and body["like"] is None
    results = body["results"]
    assert len(results) == 8
    assert all(Decimal(r["price"]) <= 30 and r["attributes"]["material"] == "ceramic"
               for r in results)
    # the everyday mug is shown in its green colour and rises
    skus = [r["sku"] for r in results]
    assert "CER-MUG-012" in skus and "CER-MUG-011" not in skus
    everyday = results[skus.index("CER-MUG-012")]
    assert everyday["matched"]["boosts"] == ["colour=green"]
    assert everyday["matched"]["filters"] == body["filters"] and "mug" in everyday["matched"][
        "terms"]
    before = [r["id"] for r in plain]
    assert everyday["id"] not in before[:skus.index("CER-MUG-012") + 1]
    assert any(not r["matched"]["boosts"] for r in results)  # preferences exclude nothing
    assert {"id", "sku", "name", "category", "price", "currency", "image_url", "in_stock",
            "attributes", "score", "dense_score", "lexical_score"} <= set(everyday)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results),
                                                   reverse=True)


def test_more_like_this_one_but_cheaper(client: TestClient, demo_index: ProductIndex) -> None:
    liked = _id(demo_index, "CER-MUG-016")  # navy porcelain mug, 42.00
    body = client.get(URL, headers=SERVICE, params={
        "q": "mug", "like": str(liked), "max_price": "41.99", "limit": "5"}).json()
    assert body["like"] == liked and len(body["results"]) == 5
    assert liked not in {r["id"] for r in body["results"]}
    assert all(r["matched"]["like"] == liked and Decimal(r["price"]) < 42
               for r in body["results"])
    again = client.get(URL, headers=SERVICE, params={
        "like": str(liked), "include_liked": "true", "limit": "1"}).json()
    assert [r["id"] for r in again["results"]] == [liked]


def test_a_plain_search_keeps_its_former_shape(client: TestClient) -> None:
    body = client.get(URL, headers=SERVICE, params={"q": "blue ceramic mug"}).json()
    assert body["boosts"] == [] and body["like"] is None
    assert body["results"][0]["matched"] == {
        "terms": ["blue", "ceramic", "mug"], "filters": [], "boosts": [], "like": None,
        "named": False, "unmet": []}
    assert body["offset"] == 0 and body["interpretation"] is None


def test_offset_gives_the_next_page_without_repeats(client: TestClient) -> None:
    params = {"q": "ceramic mug", "limit": "5", "attr.type": "mug"}
    pages = [client.get(URL, headers=SERVICE, params={**params, "offset": str(offset)}).json()
             for offset in (0, 5, 10)]
    ids = [r["id"] for page in pages for r in page["results"]]
    assert [page["offset"] for page in pages] == [0, 5, 10]
    assert len(ids) == 15 and len(set(ids)) == 15
    whole = client.get(URL, headers=SERVICE, params={**params, "limit": "15"}).json()
    assert ids == [r["id"] for r in whole["results"]]
    past = client.get(URL, headers=SERVICE, params={**params, "offset": "500"}).json()
    assert past["results"] == []


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"q": "mug", "like": "999999999"}, 404, "product_not_found"),
    ({"q": "mug", "boost.Colour!": "blue"}, 422, "invalid_filter"),
    ({"q": "mug", "boost.colour": " , "}, 422, "invalid_filter"),
    ({"q": "mug", "like": "0"}, 422, "invalid_request"),
])
def test_bad_refinements_are_refused_clearly(client: TestClient, params: dict[str, str],
                                             status: int, code: str) -> None:
    response = client.get(URL, headers=SERVICE, params=params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
