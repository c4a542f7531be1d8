"""The demo shop's FAQ: valid, broad, and saying what the product does."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from commerce_core.config import CoreSettings
from commerce_core.pricing import DOMESTIC, EU, FREE_SHIPPING_FROM, SHIPPING_TABLE, WORLD
from knowledge.embedding import Embedder
from knowledge.faq_library import check_directory, faq_files
from knowledge.faq_parser import FaqEntry
from knowledge.faq_service import FaqService

FAQ_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "faq"
COUNTRY_NAMES = {
    "FR": "France", "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia",
    "CY": "Cyprus", "CZ": "Czechia", "DK": "Denmark", "EE": "Estonia", "FI": "Finland",
    "DE": "Germany", "GR": "Greece", "HU": "Hungary", "IE": "Ireland", "IT": "Italy",
    "LV": "Latvia", "LT": "Lithuania", "LU": "Luxembourg", "MT": "Malta",
    "NL": "the Netherlands", "PL": "Poland", "PT": "Portugal", "RO": "Romania",
    "SK": "Slovakia", "SI": "Slovenia", "ES": "Spain", "SE": "Sweden",
    "GB": "the United Kingdom", "CH": "Switzerland", "NO": "Norway", "US": "the United States",
    "CA": "Canada", "AU": "Australia", "NZ": "New Zealand", "JP": "Japan", "IS": "Iceland",
}


@pytest.fixture(scope="module")
def entries() -> dict[str, FaqEntry]:
    found, problems = check_directory(FAQ_DIR)
    assert problems == []
    return {e.question: e for e in found}


def euros(amount: Decimal) -> str:
    return f"€{amount:.2f}" if amount != amount.to_integral() else f"€{amount:.0f}"


def test_the_demo_faq_is_broad_and_split_by_topic(entries: dict[str, FaqEntry]) -> None:
    assert len(entries) >= 40
    assert {p.name for p in faq_files(FAQ_DIR)} >= {
        "shipping.md", "returns.md", "care.md", "orders.md", "personalisation.md"}


def test_shipping_answers_match_the_pricing_table(entries: dict[str, FaqEntry]) -> None:
    costs = entries["How much does shipping cost?"].answer
    for zone in SHIPPING_TABLE.values():
        for _, price in zone:
            assert f"€{price:.2f}" in costs
    free = entries["Do you offer free shipping?"].answer
    assert f"from {euros(FREE_SHIPPING_FROM['domestic'])}" in free
    assert set(FREE_SHIPPING_FROM) == {"domestic"}, "the FAQ says only France ships free"
    countries = " ".join(entries["Which countries do you ship to?"].answer.split())
    for code in DOMESTIC | EU | WORLD:
        assert COUNTRY_NAMES[code] in countries, code


def test_order_answers_match_the_reservation_and_tax_settings(
        entries: dict[str, FaqEntry]) -> None:
    minutes = CoreSettings.model_fields["reservation_minutes"].default
    assert f"**{minutes} minutes**" in entries["What happens if I don't pay straight away?"].answer
    assert f"{minutes} minutes" in entries["Can I cancel my order?"].answer
    rate = CoreSettings.model_fields["tax_rate"].default
    assert f"include {rate * 100:.0f}% French VAT" in entries[
        "What currency are your prices in?"].answer.replace("**", "")


@pytest.fixture(scope="module")
def faq(embedder: Embedder) -> FaqService:
    """The demo FAQ, embedded once for the tests that ask it questions."""
    service = FaqService(directory=FAQ_DIR, embedder_factory=lambda: embedder)
    service.reload()
    return service


def test_the_demo_faq_answers_shoppers_and_abstains_off_topic(faq: FaqService) -> None:
    answered = faq.answer("do you ship to japan")
    assert answered.best is not None
    assert answered.best.entry.question == "Which countries do you ship to?"
    off_topic = faq.answer("what's the weather like in lyon")
    assert off_topic.best is None
    assert len(off_topic.candidates) == 3


@pytest.mark.parametrize(("question", "entry"), [
    ("can you wrap it as a present?", "Do you offer gift wrapping?"),
    ("how long does shipping take", "How long does delivery take?"),
])
def test_policy_questions_asked_without_an_order_are_answered(
        faq: FaqService, question: str, entry: str) -> None:
    answered = faq.answer(question)
    assert answered.best is not None
    assert answered.best.entry.question == entry


def test_a_policy_question_too_far_from_one_entry_offers_the_right_one(
        faq: FaqService) -> None:
    offered = faq.answer("if my sister doesn't like it can she send it back?")
    assert offered.best is None
    assert "What is your returns policy?" in [c.entry.question for c in offered.candidates]


@pytest.mark.parametrize(("question", "entry"), [
    ("can u ship 2 the US?", "Which countries do you ship to?"),
    ("hw long does delivery take to germany pls", "How long does delivery take?"),
    ("cn i pay w/ paypal", "Which payment methods do you accept?"),
])
def test_a_question_in_chat_shorthand_is_answered_as_if_spelled_out(
        faq: FaqService, question: str, entry: str) -> None:
    """Each of these is only offered as "did you mean…?" when "u", "hw" or "cn" are read as
    they are typed."""
    answered = faq.answer(question)
    assert answered.best is not None, [(c.entry.question, c.score) for c in answered.candidates]
    assert answered.best.entry.question == entry
