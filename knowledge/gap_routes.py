"""The merchant's view of what the shop could not answer, and the FAQ entry that answers
it (under ``/api/merchant``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from commerce_core import clock
from commerce_core.auth import MerchantDep
from commerce_core.db import SessionDep
from commerce_core.errors import error_responses
from commerce_core.params import MultiLine, OneLine
from knowledge import gaps
from knowledge.faq_routes import FaqDep

router = APIRouter(prefix="/merchant", tags=["merchant"], responses=error_responses(401, 422))


class ClusterOut(BaseModel):
    kind: Literal["faq", "search"]
    """``faq``: questions the FAQ declined; ``search``: searches that found nothing."""
    representative: str
    count: int
    examples: list[str]
    """Its distinct wordings, the most asked first (at most five)."""
    last_asked: datetime
    wordings: list[str]
    """All its distinct wordings: send them as ``resolves`` with the entry that answers it."""


class FaqEntryIn(BaseModel):
    file: OneLine = Field(min_length=4, max_length=64, description="e.g. shipping.md")
    question: OneLine = Field(min_length=3, max_length=200)
    also_asked: list[Annotated[OneLine, Field(min_length=3, max_length=200)]] = Field(
        default_factory=list, max_length=20)
    answer: MultiLine = Field(min_length=3, max_length=8000)
    resolves: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list, max_length=200,
        description="the unanswered questions this entry answers (their exact wording)")


class FaqEntryOut(BaseModel):
    source: str
    """``file.md:line`` of the new entry's heading."""
    resolved: int
    """How many recorded questions it marked answered."""


@router.get("/unanswered", response_model=list[ClusterOut])
def unanswered(_: MerchantDep, session: SessionDep, faq: FaqDep,
               kind: Literal["faq", "search"] | None = None,
               days: Annotated[int, Query(ge=1, le=365)] = 30,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[ClusterOut]:
    """Open questions of the last ``days``, grouped by meaning, the most asked first."""
    found = gaps.clusters(session, faq.embedder, kind=kind,
                          since=clock.now() - timedelta(days=days), limit=limit)
    return [ClusterOut(kind=c.kind, representative=c.representative, count=c.count,  # type: ignore[arg-type]
                       examples=c.examples, last_asked=c.last_asked, wordings=c.wordings)
            for c in found]


@router.post("/faq/entries", response_model=FaqEntryOut, status_code=201,
             responses=error_responses(413))
async def write_faq_entry(_: MerchantDep, session: SessionDep, faq: FaqDep,
                          body: FaqEntryIn) -> FaqEntryOut:
    """Append an entry to a Markdown file of the FAQ folder (checked by the FAQ's parser
    first; nothing is written when it would break the file); the FAQ serves it at once."""
    source = gaps.append_entry(faq.directory, file=body.file, question=body.question,
                               also_asked=body.also_asked, answer=body.answer,
                               existing=faq.entries)
    resolved = gaps.resolve(session, body.resolves)
    session.commit()
    await run_in_threadpool(faq.reload)
    return FaqEntryOut(source=source, resolved=resolved)
