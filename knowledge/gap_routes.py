"""The merchant's view of what the shop could not answer, the FAQ entry that answers it,
and the search synonyms that make a shopper's words find the catalog's products (under
``/api/merchant``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from commerce_core import clock
from commerce_core.audit.service import Actor
from commerce_core.auth import MerchantDep
from commerce_core.db import SessionDep
from commerce_core.errors import error_response, error_responses
from commerce_core.models import MerchantApiKey, SearchSynonym
from commerce_core.params import MultiLine, OneLine
from knowledge import gaps, synonyms
from knowledge.faq_routes import FaqDep
from knowledge.faq_service import FaqService
from knowledge.routes import KnowledgeDep, UnderstandingDep

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


class SynonymIn(BaseModel):
    phrase: str = Field(max_length=1000, description="the shopper's word or phrase, e.g. "
                        "charcuterie platter (at most 60 characters)")
    name: str = Field(max_length=100, description="``category`` or an attribute name "
                      "(type, colour, material, …)")
    value: str = Field(max_length=1000, description="a value of it in the catalog, e.g. "
                       "cheese board")


class SynonymOut(BaseModel):
    id: int
    phrase: str
    name: str
    value: str
    created_at: datetime


def _synonym_out(synonym: SearchSynonym) -> SynonymOut:
    return SynonymOut(id=synonym.id, phrase=synonym.phrase, name=synonym.target_name,
                      value=synonym.target_value, created_at=synonym.created_at)


def key_actor(key: MerchantApiKey) -> Actor:
    """Who the audit log names for a change made with a merchant API key."""
    return Actor(id=None, email=f"API key {key.prefix}… ({key.name})"[:254], name=key.name)


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
    written = await run_in_threadpool(_write_entry, session, faq, body)
    await run_in_threadpool(faq.reload)
    return written


def _write_entry(session: Session, faq: FaqService, body: FaqEntryIn) -> FaqEntryOut:
    source = gaps.append_entry(faq.directory, file=body.file, question=body.question,
                               also_asked=body.also_asked, answer=body.answer,
                               existing=faq.entries)
    resolved = gaps.resolve(session, body.resolves)
    session.commit()
    return FaqEntryOut(source=source, resolved=resolved)


@router.get("/synonyms", response_model=list[SynonymOut])
def list_synonyms(_: MerchantDep, session: SessionDep) -> list[SynonymOut]:
    """The shoppers' words mapped to catalog terms, by phrase."""
    return [_synonym_out(s) for s in synonyms.SynonymRepository(session).all()]


@router.post("/synonyms", response_model=SynonymOut, status_code=201)
def save_synonym(understanding: UnderstandingDep, key: MerchantDep, session: SessionDep,
                 knowledge: KnowledgeDep, body: SynonymIn) -> SynonymOut:
    """Map a shopper's phrase to a catalog term (a phrase mapped already is mapped anew);
    the search reads it so at once. Refused (422) when the phrase is empty, longer than
    60 characters or already a catalog term, or when the catalog has no such term."""
    synonym = synonyms.save_synonym(session=session, actor=key_actor(key),
                                    understanding=understanding, phrase=body.phrase,
                                    name=body.name, value=body.value)
    session.commit()
    knowledge.reload_synonyms()
    return _synonym_out(synonym)


@router.delete("/synonyms/{synonym_id}", status_code=204,
               responses=error_response(404, "no such synonym"))
def remove_synonym(key: MerchantDep, session: SessionDep, knowledge: KnowledgeDep,
                   synonym_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> None:
    synonyms.remove_synonym(session=session, actor=key_actor(key), synonym_id=synonym_id)
    session.commit()
    knowledge.reload_synonyms()
