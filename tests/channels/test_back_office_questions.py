"""Unanswered questions in the back office (SQLite and PostgreSQL): searches that found
nothing and questions the FAQ declined, from real gateway conversations (Rasa stood in for),
grouped by the real sentence encoder; "write an FAQ entry" appends a correct entry to a
copy of the demo FAQ, audited, and refuses one that would break the files."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from knowledge.config import KnowledgeSettings
from knowledge.faq_library import check_directory
from knowledge.faq_writer import FaqEntryRefused, append_entry
from tests.channels.back_office import SERVICE, BackOffice
from tests.channels.fake_rasa import FakeRasa
from tests.channels.test_back_office_funnel import NOTHING_FOUND, say
from tests.conftest import DEMO_FAQ

DECLINED = [{"text": "Let me find a person.",
             "custom": {"handoff": {"reason": "faq_unanswered", "summary": "Mars"}}}]


@pytest.fixture
def faq(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO_FAQ, tmp_path / "faq"))


@pytest.fixture
def shop(demo_catalog: sessionmaker[Session], tmp_path: Path, faq: Path,
         fake_rasa: FakeRasa) -> Iterator[BackOffice]:
    for text in ("a unicorn lamp", "unicorn lamps", "a dragon teapot"):
        fake_rasa.answers[text] = [{"text": NOTHING_FOUND}]
    fake_rasa.answers["do you ship to mars"] = DECLINED
    app = create_app(GatewaySettings(rasa_url=fake_rasa.url, warm_search_on_start=False),
                     session_factory=demo_catalog,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path, faq_dir=faq))
    with TestClient(app) as client:
        yield BackOffice(client=client, db=demo_catalog)


def test_unanswered_questions_are_grouped_and_answered_with_an_faq_entry(
        shop: BackOffice, faq: Path) -> None:
    # given shoppers whose searches found nothing, one the FAQ could not answer
    owner = shop.owner()
    say(shop, "q-1", "a unicorn lamp")
    say(shop, "q-2", "unicorn lamps")
    say(shop, "q-3", "a dragon teapot")
    say(shop, "q-4", "do you ship to mars")
    say(shop, "q-5", "hello")
    # when
    page = shop.client.get("/merchant/questions").text
    # then the two unicorn lamps are one group of two, the others groups of their own
    rows = page.split("<tbody>", 1)[1].split("</tr>")
    assert "search found nothing" in rows[0] and "<td>2</td>" in rows[0]
    assert "unicorn lamp" in rows[0]
    assert any("a dragon teapot" in row and "<td>1</td>" in row for row in rows[1:])
    assert any("the FAQ had no answer" in row and "do you ship to mars" in row for row in rows)
    assert "hello" not in page

    # when the owner writes the FAQ entry of the declined question
    written = shop.post("/merchant/faq", file="shipping.md", question="Do you ship to Mars?",
                        answer="Not yet: we ship to **three zones** on Earth.")
    # then the file holds a correct entry, and the action is audited
    assert written.status_code == 303
    assert "The entry was added" in shop.client.get(written.headers["location"]).text
    entries, problems = check_directory(faq)
    assert problems == []
    added = [e for e in entries if e.question == "Do you ship to Mars?"]
    assert [(e.file, e.answer) for e in added] == [
        ("shipping.md", "Not yet: we ship to **three zones** on Earth.")]
    assert shop.audit() == [(owner, "faq.add", "shipping.md", {},
                             {"question": "Do you ship to Mars?"})]
    # and the bot's FAQ answers with it once its watcher saw the file change
    deadline = time.monotonic() + 30
    while True:
        answered = shop.client.post("/api/faq/answer", headers=SERVICE,
                                    json={"question": "Do you ship to Mars?"})
        if "three zones** on Earth" in answered.text or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert answered.status_code == 200 and "three zones** on Earth" in answered.text


def test_an_entry_that_would_break_the_faq_is_refused_and_nothing_is_written(
        shop: BackOffice, faq: Path) -> None:
    shop.owner()
    before = {p.name: p.read_bytes() for p in faq.iterdir()}
    for fields, reason in [
            ({"file": "../secrets.md"}, "Choose one of the FAQ files"),
            ({"question": "How much does SHIPPING cost"}, "already answers"),
            ({"answer": "Yes.\n## Another question"}, "starts another question"),
            ({"answer": "Also asked: mars?"}, "may not begin with"),
            ({"answer": " "}, "The answer must be"),
            ({"question": "# heading"}, "on one line")]:
        sent = {"file": "shipping.md", "question": "Do you ship to Mars?",
                "answer": "Not yet.", **fields}
        refused = shop.post("/merchant/faq", **sent)
        assert refused.status_code == 422, fields
        assert reason in refused.text, fields
    assert {p.name: p.read_bytes() for p in faq.iterdir()} == before
    assert shop.audit() == []


def test_appending_keeps_the_file_readable_and_leaves_no_temporary_file(faq: Path) -> None:
    append_entry(directory=faq, file="gifts.md", question="Can I add a  second card?",
                 answer="Yes, write both messages at checkout.")
    with pytest.raises(FaqEntryRefused):
        append_entry(directory=faq, file="gifts.md", question="can i add a second card",
                     answer="Again.")
    entries, problems = check_directory(faq)
    assert problems == []
    assert "Can I add a second card?" in [e.question for e in entries]
    assert sorted(p.name for p in faq.iterdir() if p.name.startswith(".")) == []
