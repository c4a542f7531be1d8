"""``POST /faq/answer`` (under ``/api``): the merchant's FAQ answers a shopper's question.

The app holds a started :class:`knowledge.faq_service.FaqService` in ``app.state.faq``.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from commerce_core.auth import require_service
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.observability.metrics import FAQ_ANSWERS
from knowledge import gaps
from knowledge.faq_index import Candidate
from knowledge.faq_service import FaqService
from knowledge.faq_text import join_paragraphs

router = APIRouter(tags=["faq"], dependencies=[Depends(require_service)],
                   responses=error_responses(401, 413, 422))
MAX_QUESTION_CHARS = 1000


def get_faq(request: Request) -> FaqService:
    return request.app.state.faq


FaqDep = Annotated[FaqService, Depends(get_faq)]


class FaqQuestion(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    faq_intent: float | None = Field(default=None, ge=0.0, le=1.0)
    """The NLU's confidence that the message is the ``faq`` intent, when it read it so:
    enough of it lets the FAQ answer on less evidence of its own
    (``knowledge.faq_service.ROUTED_CONFIDENCE``)."""
    record_gap: bool = True
    """Whether a question left unanswered is kept for the merchant (``knowledge.gaps``):
    false when the bot only checks whether the FAQ covers a message it did not read as a
    question for the shop."""

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank")
        return value


class FaqCandidate(BaseModel):
    question: str
    """The entry's heading, as the merchant wrote it."""
    score: float
    """Blended similarity (about -0.8 to 1.8), on the scale of the answer threshold."""
    source: str
    """``file.md:line`` of the entry's heading."""


class FaqAnswered(BaseModel):
    answer: str
    """Markdown, with paragraphs joined as written (the source file's line wraps removed,
    blank lines between paragraphs, list items and table rows on lines of their own)."""
    question: str
    score: float
    source: str


class FaqUnanswered(BaseModel):
    answer: None = None
    candidates: list[FaqCandidate]
    """The closest entries, best first, to offer as "did you mean…?": up to three, those
    scoring near the best one (``knowledge.faq_service.OFFER_SPREAD``)."""


def _candidate(candidate: Candidate) -> FaqCandidate:
    return FaqCandidate(question=candidate.entry.question, score=round(candidate.score, 4),
                        source=candidate.entry.source)


@router.post("/faq/answer", response_model=FaqAnswered | FaqUnanswered)
async def answer_question(body: FaqQuestion, faq: FaqDep, session: SessionDep
                          ) -> FaqAnswered | FaqUnanswered:
    """The answer of the entry that confidently matches the question, or the closest
    entries when none does: a doubtful answer is never given (and the question is kept
    for the merchant, see ``knowledge.gaps``)."""
    result = await run_in_threadpool(partial(faq.answer, body.question,
                                             faq_intent=body.faq_intent))
    FAQ_ANSWERS.labels("answered" if result.best is not None
                       else "declined" if body.record_gap else "not_covered").inc()
    if result.best is None:
        if body.record_gap:
            await run_in_threadpool(gaps.record, session, kind="faq", text=body.question)
        return FaqUnanswered(candidates=[_candidate(c) for c in result.offered])
    entry = result.best.entry
    return FaqAnswered(answer=join_paragraphs(entry.answer), question=entry.question,
                       score=round(result.best.score, 4), source=entry.source)
