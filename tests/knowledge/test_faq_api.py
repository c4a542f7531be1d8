"""``POST /api/faq/answer`` over a real FAQ service, and hot reload of the files."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.db import get_session, make_engine
from commerce_core.errors import install_error_handlers
from knowledge.embedding import Embedder
from knowledge.faq_routes import router
from knowledge.faq_service import FaqService

SERVICE = {"Authorization": "Bearer change-me"}
SHIPPING = """# Shipping

## How much does shipping cost?
Also asked: What are your postage rates?

France: €4.90 up to 500 g.

## Do you ship to Japan?
Yes, Japan is in our rest-of-the-world zone.
"""
CARE = """## How do I care for leather?
Also asked: leather care tips

Wipe it with a damp cloth and use a little balm twice a year.
"""


def write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


@pytest.fixture
def faq_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "faq"
    directory.mkdir()
    write(directory, "shipping.md", SHIPPING)
    write(directory, "care.md", CARE)
    return directory


@pytest.fixture
def service(faq_dir: Path, embedder: Embedder) -> Iterator[FaqService]:
    faq = FaqService(directory=faq_dir, embedder_factory=lambda: embedder)
    yield faq
    faq.close()


@pytest.fixture
def client(service: FaqService, tmp_path: Path) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router, prefix="/api")
    app.state.faq = service
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    factory = sessionmaker(engine)

    def session() -> Iterator[Session]:
        with factory() as s:
            yield s

    app.dependency_overrides[get_session] = session
    with TestClient(app) as test_client:
        yield test_client
    engine.dispose()


def ask(client: TestClient, question: str) -> dict:
    response = client.post("/api/faq/answer", json={"question": question}, headers=SERVICE)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_confident_match_returns_the_answer_heading_score_and_source(
        client: TestClient) -> None:
    body = ask(client, "how much is postage to france?")
    assert body["answer"] == "France: €4.90 up to 500 g."
    assert body["question"] == "How much does shipping cost?"
    assert body["source"] == "shipping.md:3"
    assert 0 < body["score"] <= 3.0
    assert set(body) == {"answer", "question", "score", "source"}


def test_the_answer_comes_with_paragraphs_joined_as_written(
        client: TestClient, faq_dir: Path, service: FaqService) -> None:
    # given an answer wrapped at the editor's width, with a list and a second paragraph
    write(faq_dir, "care.md", CARE.replace(
        "Wipe it with a damp cloth and use a little balm twice a year.\n",
        "Wipe it with a damp cloth and use\na little **balm** twice a year:\n\n"
        "- keep it dry,\n  away from heat\n- store it in its bag\n\nThat is\nall.\n"))
    service.reload()
    # when
    body = ask(client, "leather care tips please")
    # then
    assert body["answer"] == ("Wipe it with a damp cloth and use a little **balm** twice a "
                              "year:\n\n- keep it dry, away from heat\n- store it in its bag"
                              "\n\nThat is all.")


def test_an_unrelated_question_gets_candidates_and_no_answer(client: TestClient) -> None:
    body = ask(client, "who won the football last night")
    assert body["answer"] is None
    assert set(body) == {"answer", "candidates"}
    assert 1 <= len(body["candidates"]) <= 3
    scores = [c["score"] for c in body["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert {c["source"] for c in body["candidates"]} <= {
        "shipping.md:3", "shipping.md:8", "care.md:1"}


def test_a_declined_question_is_offered_only_the_entries_near_the_best(
        client: TestClient) -> None:
    body = ask(client, "my leather boots got wet")
    assert body["answer"] is None
    # the shipping entries are far behind the leather one: "did you mean…?" offers it alone
    assert [c["source"] for c in body["candidates"]] == ["care.md:1"]


@pytest.mark.parametrize(("faq_intent", "answered"), [
    (None, False), (0.49, False), (0.5, True), (0.97, True)])
def test_the_nlus_reading_as_a_faq_question_applies_the_routed_decision(
        client: TestClient, service: FaqService, faq_intent: float | None,
        answered: bool) -> None:
    # given a decision that answers only a question the NLU read as one for the FAQ
    service.threshold, service.routed_threshold = 9.0, 0.0
    service.routed_margin = service.routed_word_floor = 0.0
    body = {"question": "my leather boots got wet"}
    if faq_intent is not None:
        body["faq_intent"] = faq_intent
    # when
    response = client.post("/api/faq/answer", json=body, headers=SERVICE)
    # then
    assert response.status_code == 200, response.text
    assert (response.json()["answer"] is not None) is answered


@pytest.mark.parametrize("payload", [
    {"question": ""}, {"question": "   "}, {"question": "x" * 1001}, {}, {"question": 3},
    {"question": "leather care", "faq_intent": 1.5},
    {"question": "leather care", "faq_intent": -0.1},
])
def test_questions_must_be_1_to_1000_characters_with_a_confidence_from_0_to_1(
        client: TestClient, payload: dict) -> None:
    response = client.post("/api/faq/answer", json=payload, headers=SERVICE)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_question_of_1000_characters_is_accepted(client: TestClient) -> None:
    assert "answer" in ask(client, ("leather care " * 100)[:1000])


def test_the_service_token_or_a_merchant_key_is_required(client: TestClient) -> None:
    response = client.post("/api/faq/answer", json={"question": "shipping?"})
    assert response.status_code == 401
    response = client.post("/api/faq/answer", json={"question": "shipping?"},
                           headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


def wait_for(client: TestClient, question: str, expected: str, seconds: float) -> float:
    """Seconds until the API answers ``question`` with ``expected``; fails after ``seconds``."""
    started = time.monotonic()
    while True:
        if ask(client, question).get("answer") == expected:
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            pytest.fail(f"{question!r} was not answered with {expected!r} within {seconds} s: "
                        f"{ask(client, question)}")
        time.sleep(0.1)


def test_edits_on_disk_are_served_within_five_seconds(
        client: TestClient, service: FaqService, faq_dir: Path) -> None:
    # given the watcher runs and serves the file as written
    service.start()
    wait_for(client, "leather care tips please", CARE.split("\n\n")[1].strip(), 30)
    # when the merchant edits an answer and adds an entry
    write(faq_dir, "care.md", CARE.replace("twice a year", "every spring") + (
        "\n## Can I put wooden spoons in the dishwasher?\nNo, wash them by hand.\n"))
    # then both are served through the API within 5 seconds of saving
    wait_for(client, "leather care tips please",
             "Wipe it with a damp cloth and use a little balm every spring.", 5)
    wait_for(client, "are wooden spoons dishwasher safe", "No, wash them by hand.", 5)
    # when a file is removed, its entries go
    (faq_dir / "care.md").unlink()
    deadline = time.monotonic() + 5
    while any(e.file == "care.md" for e in service.entries):
        assert time.monotonic() < deadline, "care.md still served 5 s after its removal"
        time.sleep(0.1)


def test_a_broken_save_keeps_the_last_good_answer_until_fixed(
        client: TestClient, service: FaqService, faq_dir: Path) -> None:
    service.start()
    wait_for(client, "do you deliver to japan", "Yes, Japan is in our rest-of-the-world zone.",
             30)
    write(faq_dir, "shipping.md", SHIPPING.replace(
        "Yes, Japan is in our rest-of-the-world zone.", "Yes, from next month.")
        + "\n## Do you ship to Mars?\n")
    deadline = time.monotonic() + 5
    while not service.problems:
        assert time.monotonic() < deadline, "the broken file was not noticed within 5 s"
        time.sleep(0.1)
    assert [str(p) for p in service.problems] == [
        "shipping.md:11: empty answer: write the answer under the question "
        "'Do you ship to Mars?'"]
    assert ask(client, "do you deliver to japan")["answer"] == (
        "Yes, Japan is in our rest-of-the-world zone.")
    write(faq_dir, "shipping.md", SHIPPING.replace(
        "Yes, Japan is in our rest-of-the-world zone.", "Yes, from next month."))
    wait_for(client, "do you deliver to japan", "Yes, from next month.", 5)
    assert service.problems == []


def test_a_reload_embeds_only_what_changed(service: FaqService, faq_dir: Path) -> None:
    service.reload()
    first = service.embedded_total
    # 3 entries: 3 questions + 2 "Also asked" + 3 question-and-answer texts + 3 answer
    # sentences
    assert first == 11
    write(faq_dir, "care.md", CARE.replace("twice a year", "every spring"))
    assert service.reload().reparsed == ("care.md",)
    assert service.embedded_total == first + 2  # that entry's answer sentence and context
    write(faq_dir, "shipping.md", SHIPPING + "\n## Do you ship to Iceland?\nYes.\n")
    service.reload()
    assert service.embedded_total == first + 5  # the new question, context and sentence
    assert not service.reload().changed
    assert service.embedded_total == first + 5


def test_close_stops_the_watcher(service: FaqService) -> None:
    service.start()
    watcher = service._watcher
    assert watcher is not None and watcher.is_alive()
    service.close()
    assert not watcher.is_alive()


def test_until_first_used_the_watcher_checks_files_but_embeds_nothing(
        service: FaqService, faq_dir: Path) -> None:
    write(faq_dir, "broken.md", "## Do you ship to Mars?\n")
    service.start()
    deadline = time.monotonic() + 5
    while not service.problems:
        assert time.monotonic() < deadline, "the watcher did not check the files within 5 s"
        time.sleep(0.1)
    assert [str(p) for p in service.problems] == [
        "broken.md:1: empty answer: write the answer under the question "
        "'Do you ship to Mars?'"]
    assert service.embedded_total == 0
    service.reload()  # the warm-up the app may do, or the first question
    assert service.embedded_total == 11
    assert {e.file for e in service.entries} == {"shipping.md", "care.md"}
