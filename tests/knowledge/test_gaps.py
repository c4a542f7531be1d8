"""What the shop could not answer, grouped by meaning for the merchant, and the FAQ entry
written from it: over the whole app, a migrated database and a real FAQ folder."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.models import UnansweredQuestion
from knowledge.config import KnowledgeSettings
from knowledge.embedding import Embedder
from knowledge.gaps import group
from tests.commerce_core.helpers import SERVICE, merchant_headers

SHIPPING = """# Shipping

## How much does shipping cost?
Also asked: What are your postage rates?

France: €4.90 up to 500 g.
"""
VOUCHERS = ["do you sell gift vouchers", "can I buy a gift voucher",
            "do you sell gift vouchers", "gift voucher for my aunt?"]
LOYALTY = ["is there a loyalty programme", "do you have a loyalty program"]


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "faq"
    directory.mkdir()
    (directory / "shipping.md").write_text(SHIPPING, encoding="utf-8")
    return directory


@pytest.fixture
def client(demo_catalog: sessionmaker[Session], tmp_path: Path, faq_dir: Path
           ) -> Iterator[TestClient]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path, faq_dir=faq_dir))
    with TestClient(app) as test_client:
        yield test_client


def ask(client: TestClient, question: str) -> dict[str, Any]:
    response = client.post("/api/faq/answer", json={"question": question}, headers=SERVICE)
    assert response.status_code == 200, response.text
    return response.json()


def unanswered(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict]:
    response = client.get("/api/merchant/unanswered", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def recorded(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(UnansweredQuestion)) or 0


def test_declined_questions_are_grouped_by_meaning_most_asked_first(
        client: TestClient, demo_catalog: sessionmaker[Session]) -> None:
    # given: shoppers asked what the FAQ does not cover, and one thing it does
    for question in VOUCHERS + LOYALTY:
        assert ask(client, question)["answer"] is None
    assert ask(client, "how much does shipping cost?")["answer"] is not None
    merchant = merchant_headers(demo_catalog)
    # when
    groups = unanswered(client, merchant, kind="faq")
    # then
    assert [(g["count"], len(g["examples"])) for g in groups] == [(4, 3), (2, 2)]
    assert groups[0]["representative"] in VOUCHERS
    assert groups[0]["examples"][0] == "do you sell gift vouchers"  # asked twice
    assert set(groups[1]["examples"]) == set(LOYALTY)
    assert recorded(demo_catalog) == 6


def test_a_search_that_found_nothing_is_kept_too(client: TestClient,
                                                 demo_catalog: sessionmaker[Session]) -> None:
    found = client.get("/api/products/search", headers=SERVICE, params={"q": "mug"}).json()
    empty = client.get("/api/products/search", headers=SERVICE,
                       params={"q": "mug", "max_price": "0.50"}).json()
    assert found["results"] and not empty["results"]
    [only] = unanswered(client, merchant_headers(demo_catalog), kind="search")
    assert (only["representative"], only["count"]) == ("mug", 1)


def test_a_search_made_ahead_that_found_nothing_is_not_kept(
        client: TestClient, demo_catalog: sessionmaker[Session]) -> None:
    params = {"q": "mug", "max_price": "0.50", "interpret": "true"}
    ahead = client.get("/api/products/search", headers=SERVICE,
                       params={**params, "record_gap": "false"}).json()
    assert not ahead["results"] and recorded(demo_catalog) == 0
    assert not client.get("/api/products/search", headers=SERVICE, params=params).json()[
        "results"]
    assert recorded(demo_catalog) == 1


def test_a_question_only_checked_against_the_faq_is_not_kept(
        client: TestClient, demo_catalog: sessionmaker[Session]) -> None:
    def counted(outcome: str) -> float:
        return REGISTRY.get_sample_value("atelier_faq_answers_total",
                                         {"outcome": outcome}) or 0.0

    before = counted("not_covered"), counted("declined")
    checked = client.post("/api/faq/answer", headers=SERVICE,
                          json={"question": VOUCHERS[0], "record_gap": False}).json()
    assert checked["answer"] is None and recorded(demo_catalog) == 0
    assert (counted("not_covered"), counted("declined")) == (before[0] + 1, before[1])
    assert ask(client, VOUCHERS[0])["answer"] is None
    assert recorded(demo_catalog) == 1
    assert (counted("not_covered"), counted("declined")) == (before[0] + 1, before[1] + 1)


def test_an_faq_entry_written_from_a_group_is_served_and_resolves_it(
        client: TestClient, demo_catalog: sessionmaker[Session], faq_dir: Path) -> None:
    # given
    for question in VOUCHERS + LOYALTY:
        ask(client, question)
    merchant = merchant_headers(demo_catalog)
    vouchers = unanswered(client, merchant)[0]
    # when
    written = client.post("/api/merchant/faq/entries", headers=merchant, json={
        "file": "gifts.md", "question": "Do you sell gift vouchers?",
        "also_asked": ["Can I buy a gift card?"],
        "answer": "Yes: **gift vouchers** from 20 to 200 euros,\nsent by email.",
        "resolves": vouchers["examples"]})
    # then: the file holds a well-formed entry, the FAQ answers it, the group is gone
    assert written.status_code == 201, written.text
    assert written.json() == {"source": "gifts.md:1", "resolved": 4}
    assert (faq_dir / "gifts.md").read_text(encoding="utf-8") == (
        "## Do you sell gift vouchers?\nAlso asked: Can I buy a gift card?\n\n"
        "Yes: **gift vouchers** from 20 to 200 euros,\nsent by email.\n")
    answer = ask(client, "can i buy a gift voucher")
    assert answer["question"] == "Do you sell gift vouchers?"
    [left] = unanswered(client, merchant)
    assert sorted(left["examples"]) == sorted(LOYALTY)


@pytest.mark.parametrize("change, code", [
    ({"file": "../escape.md"}, "invalid_faq_file"),
    ({"file": "shipping.txt"}, "invalid_faq_file"),
    ({"question": "What are your postage rates?"}, "duplicate_faq_question"),
    ({"answer": "```\nnever closed"}, "invalid_faq_entry"),
    ({"question": "a | b"}, "invalid_faq_entry"),
])
def test_an_entry_that_would_break_the_faq_is_refused_and_nothing_is_written(
        client: TestClient, demo_catalog: sessionmaker[Session], faq_dir: Path,
        change: dict[str, str], code: str) -> None:
    body = {"file": "shipping.md", "question": "Do you ship on Sundays?",
            "answer": "No, the post office is closed.", **change}
    response = client.post("/api/merchant/faq/entries", headers=merchant_headers(demo_catalog),
                           json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert sorted(p.name for p in faq_dir.iterdir()) == ["shipping.md"]
    assert (faq_dir / "shipping.md").read_text(encoding="utf-8") == SHIPPING


def test_the_merchant_pages_need_a_merchant_key(client: TestClient) -> None:
    listing = client.get("/api/merchant/unanswered", headers=SERVICE)
    writing = client.post("/api/merchant/faq/entries", json={
        "file": "gifts.md", "question": "Do you sell gift vouchers?", "answer": "Yes."})
    assert (listing.status_code, writing.status_code) == (401, 401)


def test_wordings_of_one_meaning_share_a_group(embedder: Embedder) -> None:
    texts = Counter(VOUCHERS + LOYALTY + ["when do you open on sundays"])
    vectors = dict(zip(texts, embedder.encode(list(texts)), strict=True))
    groups = group(texts, vectors)
    assert sorted(map(sorted, groups)) == sorted(map(sorted, [
        sorted(set(VOUCHERS)), LOYALTY, ["when do you open on sundays"]]))


def test_a_group_of_many_wordings_is_answered_whole(client: TestClient,
                                                    demo_catalog: sessionmaker[Session]) -> None:
    # given one question asked seven ways (more than the five examples shown)
    wordings = ["do you sell gift vouchers", "do you sell gift vouchers please",
                "do you sell a gift voucher", "can I buy a gift voucher",
                "can i buy gift vouchers", "do you have gift vouchers", "gift vouchers for sale?"]
    for question in wordings:
        ask(client, question)
    merchant = merchant_headers(demo_catalog)
    [group] = unanswered(client, merchant)
    assert len(group["examples"]) == 5 and sorted(group["wordings"]) == sorted(wordings)
    # when the entry that answers it names all of them
    written = client.post("/api/merchant/faq/entries", headers=merchant, json={
        "file": "gifts.md", "question": "Do you sell gift vouchers?", "answer": "Yes.",
        "resolves": group["wordings"]})
    # then nothing of it is left open
    assert written.json()["resolved"] == 7
    assert unanswered(client, merchant) == []
