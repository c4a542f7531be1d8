"""Word-level evidence: MiniLM's token vectors read from the sentence encoder's graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.embedding import Embedder, model_path
from knowledge.faq_service import WORD_FLOOR, FaqService
from knowledge.faq_tokens import TokenEncoder, TokenMatcher

BIKE = """## How do I clean my bike?
Rinse it with a bucket of soapy water, dry the chain and oil it again.

## What tyre pressure should I run?
Road tyres 80-100 psi, mountain bike tyres 25-35 psi: the sidewall gives the range.
"""


@pytest.fixture(scope="module")
def encoder(embedder: Embedder) -> TokenEncoder:
    return TokenEncoder(graph_path=embedder.graph_path, model_dir=model_path(embedder.name))


def test_a_query_gets_the_embedders_sentence_vector_and_a_unit_vector_per_token(
        encoder: TokenEncoder, embedder: Embedder) -> None:
    vector, tokens = encoder.encode_query("how do I clean my bike?")
    assert float(vector @ embedder.encode_one("how do I clean my bike?")) > 0.99999
    assert tokens.tokens == ("how", "do", "i", "clean", "my", "bike", "?")
    assert np.allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0, atol=1e-5)
    assert tokens.content().tolist() == [False, False, False, True, False, True, False]


def test_batches_give_what_single_questions_give(encoder: TokenEncoder) -> None:
    texts = ["tyre pressure", "How do I clean my bike? Rinse it with soapy water.", "oven"]
    vectors, tokens = encoder.encode(texts)
    assert vectors.shape == (3, 384)
    for text, vector, token_vectors in zip(texts, vectors, tokens, strict=True):
        one, one_tokens = encoder.encode_query(text)
        assert float(vector @ one) > 0.99999
        assert token_vectors.tokens == one_tokens.tokens
        assert np.allclose(token_vectors.vectors, one_tokens.vectors, atol=1e-4)


def test_the_weakest_word_is_the_one_the_entry_has_nothing_for(
        encoder: TokenEncoder) -> None:
    _, entries = encoder.encode(["How do I clean my bike?\nRinse it with soapy water.",
                                 "What tyre pressure should I run?\nRoad tyres 80-100 psi."])
    matcher = TokenMatcher([[entries[0]], [entries[1]]])
    _, bike = encoder.encode_query("how should i wash my bicycle")
    _, oven = encoder.encode_query("how do i clean my oven")
    bike_mean, bike_weakest = matcher.scores(bike, [0, 1])
    oven_mean, oven_weakest = matcher.scores(oven, [0])
    assert bike_mean[0] > bike_mean[1]  # the cleaning entry covers the question best
    assert bike_weakest[0] >= WORD_FLOOR > oven_weakest[0]
    assert 0 < oven_weakest[0] < oven_mean[0] <= 1


def test_the_service_declines_a_question_whose_object_the_faq_lacks(
        tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "bike.md").write_text(BIKE, encoding="utf-8")
    service = FaqService(directory=tmp_path, embedder_factory=lambda: embedder)
    answered = service.answer("how should i wash my bicycle")
    assert answered.best is not None
    assert answered.best.entry.question == "How do I clean my bike?"
    declined = service.answer("how do i clean my oven")
    assert declined.best is None
    assert declined.candidates[0].entry.question == "How do I clean my bike?"
    assert declined.candidates[0].weakest < WORD_FLOOR
