"""Unanswered questions in the back office (SQLite and PostgreSQL): searches that found
nothing and questions the FAQ declined, as the knowledge API recorded them, grouped by the
real sentence encoder; "write an FAQ entry" appends a correct entry to a copy of the demo
FAQ, audited, marks the group answered, and refuses one that would break the files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from knowledge.faq_library import check_directory
from tests.channels.back_office import SERVICE, BackOffice
from tests.conftest import DEMO_FAQ


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_FAQ, tmp_path / "faq"))


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session], tmp_path: Path, faq: Path
         ) -> Iterator[BackOffice]:
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path, faq_dir=faq))
    with TestClient(app) as client:
        yield BackOffice(client=client, db=demo_catalog)


def search(shop: BackOffice, words: str, **filters: str) -> list[dict]:
    """A search as the bot's actions send it (a lamp category the shop does not have)."""
    response = shop.client.get("/api/products/search", headers=SERVICE,
                               params={"q": words, **filters})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def ask(shop: BackOffice, question: str) -> dict:
    response = shop.client.post("/api/faq/answer", headers=SERVICE, json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def test_unanswered_questions_are_grouped_and_answered_with_an_faq_entry(
        shop: BackOffice, faq: Path) -> None:
    # given shoppers whose searches found nothing, one the FAQ could not answer
    owner = shop.owner()
    for words in ("a unicorn lamp", "unicorn lamps", "a dragon teapot"):
        assert search(shop, words, category="lighting") == []
    assert ask(shop, "do you ship to mars")["answer"] is None
    assert search(shop, "mug")  # found something: not kept
    # when
    page = shop.client.get("/merchant/questions").text
    # then the two unicorn lamps are one group of two, the others groups of their own
    rows = page.split("<tbody>", 1)[1].split("</tr>")
    assert "search found nothing" in rows[0] and "<td>2</td>" in rows[0]
    assert "unicorn lamp" in rows[0]
    assert any("a dragon teapot" in row and "<td>1</td>" in row for row in rows[1:])
    assert any("the FAQ had no answer" in row and "do you ship to mars" in row for row in rows)
    assert ">mug<" not in page

    # when the owner writes the FAQ entry of the declined question
    written = shop.post("/merchant/faq", file="shipping.md", question="Do you ship to Mars?",
                        answer="Not yet: we ship to **three zones** on Earth.",
                        resolves="do you ship to mars")
    # then the file holds a correct entry, and the action is audited
    assert written.status_code == 303
    after = shop.client.get(written.headers["location"]).text
    assert "The entry was added" in after and "do you ship to mars" not in after
    entries, problems = check_directory(faq)
    assert problems == []
    added = [e for e in entries if e.question == "Do you ship to Mars?"]
    assert [(e.file, e.answer) for e in added] == [
        ("shipping.md", "Not yet: we ship to **three zones** on Earth.")]
    assert shop.audit() == [(owner, "faq.add", "shipping.md", {},
                             {"question": "Do you ship to Mars?"})]
    # and the bot's FAQ answers with it at once
    answered = ask(shop, "Do you ship to Mars?")
    assert "three zones** on Earth" in answered["answer"]


def test_an_entry_that_would_break_the_faq_is_refused_and_nothing_is_written(
        shop: BackOffice, faq: Path) -> None:
    shop.owner()
    before = {p.name: p.read_bytes() for p in faq.iterdir()}
    for fields, reason in [
            ({"file": "../secrets.md"}, "Choose one of the FAQ files"),
            ({"file": "new.md"}, "Choose one of the FAQ files"),
            ({"question": "How much does SHIPPING cost"}, "already answers"),
            ({"answer": "Yes.\n## Another question"}, "starts another question"),
            ({"answer": "Also asked: mars?"}, "may not begin with"),
            ({"answer": " "}, "The answer must be"),
            ({"question": "# heading"}, "on one line"),
            ({"answer": "```\nnever closed"}, "would break shipping.md")]:
        sent = {"file": "shipping.md", "question": "Do you ship to Mars?",
                "answer": "Not yet.", **fields}
        refused = shop.post("/merchant/faq", **sent)
        assert refused.status_code == 422, fields
        assert reason in refused.text, fields
    assert {p.name: p.read_bytes() for p in faq.iterdir()} == before
    assert shop.audit() == []


def test_a_synonym_added_beside_a_search_that_found_nothing_finds_the_product(
        shop: BackOffice) -> None:
    # given a shopper's words the catalog does not use
    owner = shop.owner()
    assert search(shop, "charcuterie slab", **{"attr.type": "charcuterie slab"}) == []
    page = shop.client.get("/merchant/questions").text
    assert 'id="synonym-0"' in page and 'value="charcuterie slab"' in page
    assert '<option value="cheese board">' in page  # the catalog's terms, offered
    # when the owner says they mean the catalog's cheese board
    refused = shop.post("/merchant/synonyms", phrase="charcuterie slab", name="type",
                        value="cheese plank", resolves="charcuterie slab")
    foreign = shop.post("/merchant/synonyms", origin="https://evil.example",
                        phrase="charcuterie slab", name="type", value="cheese board")
    saved = shop.post("/merchant/synonyms", phrase="charcuterie slab", name="type",
                      value="cheese board", resolves="charcuterie slab")
    # then the search finds it at once, the group is answered, and the action audited
    assert refused.status_code == 422
    assert "No product of the catalog has the type &#x27;cheese plank&#x27;" in refused.text
    assert foreign.status_code == 403
    assert saved.status_code == 303
    assert [r["sku"] for r in search(shop, "charcuterie slab",
                                     **{"attr.type": "charcuterie slab"})] == ["WDW-CHZ-001"]
    after = shop.client.get(saved.headers["location"]).text
    assert "The synonym was saved" in after
    listed = after.split('<table class="synonyms">')[1].split("</table>")[0]
    assert "<td>charcuterie slab</td><td>type: cheese board</td>" in listed
    assert "search found nothing" not in after
    assert shop.audit() == [(owner, "synonym.save", "charcuterie slab", {},
                             {"means": "type: cheese board"})]
    # and removing it leaves the search as it was
    synonym_id = listed.split('action="/merchant/synonyms/')[1].split("/")[0]
    assert shop.post(f"/merchant/synonyms/{synonym_id}/remove").status_code == 303
    assert search(shop, "charcuterie slab", **{"attr.type": "charcuterie slab"}) == []
