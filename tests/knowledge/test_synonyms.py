"""The merchant's search synonyms through the merchant API and the search API, over the
whole app and a migrated database (SQLite and PostgreSQL): a shopper's words the catalog
does not use find its product as soon as the merchant maps them to a catalog term, with no
retraining, and the change is in the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.models import AuditEntry
from knowledge.config import KnowledgeSettings
from tests.commerce_core.helpers import SERVICE, merchant_headers

WORDS = "charcuterie slab"
BOARD = "WDW-CHZ-001"  # Oak and Slate Cheese Board, the catalog's only cheese board


@pytest.fixture
def client(demo_catalog: sessionmaker[Session], tmp_path: Path) -> Iterator[TestClient]:
    faq = tmp_path / "faq"
    faq.mkdir()
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path, faq_dir=faq))
    with TestClient(app) as test_client:
        yield test_client


def search(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/products/search", headers=SERVICE, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def skus(page: dict[str, Any]) -> list[str]:
    return [r["sku"] for r in page["results"]]


def test_a_synonym_makes_the_search_that_found_nothing_find_the_product_at_once(
        client: TestClient, demo_catalog: sessionmaker[Session]) -> None:
    merchant = merchant_headers(demo_catalog)
    # given: the catalog does not know the shopper's words
    assert skus(search(client, q=WORDS, **{"attr.type": WORDS})) == []
    [gap] = client.get("/api/merchant/unanswered", headers=merchant,
                       params={"kind": "search"}).json()
    assert gap["representative"] == WORDS
    before = search(client, q=f"a {WORDS} for my dad", interpret="true")
    assert before["interpretation"]["understood"] == []
    # when
    saved = client.post("/api/merchant/synonyms", headers=merchant, json={
        "phrase": "  Charcuterie   Slab ", "name": "Type", "value": "Cheese Board"})
    # then
    assert saved.status_code == 201, saved.text
    synonym = saved.json()
    assert {k: synonym[k] for k in ("phrase", "name", "value")} == {
        "phrase": WORDS, "name": "type", "value": "cheese board"}
    assert skus(search(client, q=WORDS, **{"attr.type": WORDS})) == [BOARD]
    after = search(client, q=f"a {WORDS} for my dad", interpret="true")
    assert skus(after)[0] == BOARD
    assert [(u["name"], u["value"], u["words"]) for u in after["interpretation"]["understood"]
            ] == [("type", "cheese board", WORDS)]
    assert after["results"][0]["matched"]["unmet"] == []
    listed = client.get("/api/merchant/synonyms", headers=merchant).json()
    assert [(s["id"], s["phrase"]) for s in listed] == [(synonym["id"], WORDS)]
    with demo_catalog() as session:
        [entry] = session.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.target, entry.before, entry.after) == (
        "synonym.save", WORDS, {}, {"means": "type: cheese board"})
    assert entry.actor_email.startswith("API key atk_") and entry.actor_id is None


def test_a_removed_synonym_is_no_longer_read(client: TestClient,
                                             demo_catalog: sessionmaker[Session]) -> None:
    merchant = merchant_headers(demo_catalog)
    saved = client.post("/api/merchant/synonyms", headers=merchant, json={
        "phrase": WORDS, "name": "type", "value": "cheese board"}).json()
    assert skus(search(client, q=WORDS, **{"attr.type": WORDS})) == [BOARD]
    # when
    removed = client.delete(f"/api/merchant/synonyms/{saved['id']}", headers=merchant)
    # then
    assert removed.status_code == 204
    assert skus(search(client, q=WORDS, **{"attr.type": WORDS})) == []
    assert client.get("/api/merchant/synonyms", headers=merchant).json() == []
    again = client.delete(f"/api/merchant/synonyms/{saved['id']}", headers=merchant)
    assert (again.status_code, again.json()["error"]["code"]) == (404, "synonym_not_found")
    with demo_catalog() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["synonym.save", "synonym.remove"]


@pytest.mark.parametrize("change, code", [
    ({"phrase": "   "}, "invalid_synonym"),
    ({"phrase": "x" * 61}, "invalid_synonym"),
    ({"phrase": "cheese\nslab"}, "invalid_synonym"),
    ({"name": "flavour"}, "unknown_catalog_term"),
    ({"value": "cheese plank"}, "unknown_catalog_term"),
    ({"phrase": "Mugs"}, "synonym_is_catalog_term"),
])
def test_a_synonym_the_catalog_cannot_take_is_refused_clearly(
        client: TestClient, demo_catalog: sessionmaker[Session], change: dict[str, str],
        code: str) -> None:
    merchant = merchant_headers(demo_catalog)
    body = {"phrase": WORDS, "name": "type", "value": "cheese board", **change}
    response = client.post("/api/merchant/synonyms", headers=merchant, json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert response.json()["error"]["message"]
    assert client.get("/api/merchant/synonyms", headers=merchant).json() == []


def test_synonyms_need_a_merchant_key(client: TestClient) -> None:
    assert client.get("/api/merchant/synonyms").status_code == 401
    assert client.post("/api/merchant/synonyms", headers=SERVICE, json={
        "phrase": WORDS, "name": "type", "value": "cheese board"}).status_code == 401
    assert client.delete("/api/merchant/synonyms/1").status_code == 401
