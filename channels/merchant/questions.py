"""Unanswered questions: searches that found nothing and questions the FAQ declined (as
``knowledge.gaps`` recorded them), grouped by meaning, each with a form that writes an FAQ
entry (appended to a file of the FAQ directory and served at once), and each search with
a form that adds a synonym (the search reads it at once); the group's questions are then
marked answered."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.html import Html, h, join, page, table, url
from channels.merchant.synonyms import synonym_form, synonym_list
from commerce_core import clock
from commerce_core.audit.service import Actor, record
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError
from knowledge import gaps, synonyms
from knowledge.faq_library import faq_files
from knowledge.faq_service import FaqService
from knowledge.routes import UnderstandingDep
from knowledge.service import KnowledgeService
from knowledge.understanding import QueryInterpreter

router = APIRouter(include_in_schema=False)
Days = Annotated[int, Query(ge=7, le=90)]
SHOWN_GROUPS = 50
KINDS = {"search": "search found nothing", "faq": "the FAQ had no answer"}


def _faq(request: Request) -> FaqService:
    return request.app.state.faq


def _knowledge(request: Request) -> KnowledgeService:
    return request.app.state.knowledge


def _groups(request: Request, session: Session, days: int) -> list[gaps.Cluster]:
    since = datetime.combine(clock.now().date() - timedelta(days=days - 1), time(), tzinfo=UTC)
    return gaps.clusters(session, _faq(request).embedder, since=since, limit=SHOWN_GROUPS)


def _form(files: list[str], group: gaps.Cluster, index: int) -> Html:
    choices = join(h('<option value="{0}">{0}</option>', name) for name in files)
    return h('<form method="post" action="/merchant/faq" class="faq-form" id="faq-{i}">'
             '<input type="hidden" name="resolves" value="{resolves}">'
             '<label>File <select name="file">{choices}</select></label>'
             '<label>Question <input name="question" value="{q}" required maxlength="300">'
             '</label><label>Answer <textarea name="answer" rows="3" required '
             'maxlength="20000"></textarea></label>'
             '<button type="submit">Write an FAQ entry</button></form>',
             i=index, choices=choices, q=group.representative,
             resolves="\n".join(group.wordings))


def questions_page(request: Request, session: Session, actor: Actor,
                   understanding: QueryInterpreter, days: int, *, notice: str | None = None,
                   error: str | None = None, status: int = 200) -> HTMLResponse:
    groups = _groups(request, session, days)
    files = [p.name for p in faq_files(_faq(request).directory)]
    rows = [(KINDS[g.kind], h("<strong>{}</strong>", g.representative), g.count,
             "; ".join(e for e in g.examples if e != g.representative)[:300],
             join([synonym_form(understanding, g.representative, g.wordings, n)
                   if g.kind == "search" else Html(""), _form(files, g, n)]))
            for n, g in enumerate(groups)]
    choices = join(h('<a href="{}">{} days</a>', url("/merchant/questions", days=n), n)
                   for n in (7, 30, 90))
    return page(title="Unanswered questions", actor=actor, notice=notice, error=error,
                status=status, body=join([
                    h('<p class="paging">{}</p>', choices),
                    table(["Kind", "Asked", "Times", "Also asked as", ""], rows,
                          empty="Every search found something and the FAQ answered every "
                                "question.", css="questions"),
                    synonym_list(understanding, synonyms.SynonymRepository(session).all())]))


DONE = {"faq": "The entry was added; the bot answers with it within seconds.",
        "synonym": "The synonym was saved; the search reads it at once.",
        "synonym_removed": "The synonym was removed."}


@router.get("/merchant/questions")
def unanswered_page(request: Request, understanding: UnderstandingDep, actor: OwnerDep,
                    session: SessionDep, days: Days = 30, done: str = "") -> HTMLResponse:
    return questions_page(request, session, actor, understanding, days,
                          notice=DONE.get(done))


def _refused(request: Request, session: Session, actor: Actor,
             understanding: QueryInterpreter, exc: CommerceError, *,
             status: int) -> HTMLResponse:
    """The page again with the refusal; nothing of the request is kept."""
    session.rollback()
    return questions_page(request, session, actor, understanding, 30, error=exc.message,
                          status=status)


def _resolves(form: dict[str, str]) -> list[str]:
    return [line for line in form.get("resolves", "").split("\n") if line]


@router.post("/merchant/faq")
async def write_entry(request: Request, understanding: UnderstandingDep, actor: OwnerDep,
                      session: SessionDep, form: FormDep) -> Response:
    """Append the entry, mark its group answered and audit it; the audit entry is committed
    once the file is written (a refused entry writes neither)."""
    refused = await run_in_threadpool(_write_entry, request, session, actor, understanding,
                                      form)
    if refused is not None:
        return refused
    await run_in_threadpool(_faq(request).reload)
    return RedirectResponse(url("/merchant/questions", done="faq"), status_code=303)


def _write_entry(request: Request, session: Session, actor: Actor,
                 understanding: QueryInterpreter, form: dict[str, str]) -> Response | None:
    """The page with the refusal, or None once the entry is written and committed."""
    faq = _faq(request)
    file, question = form.get("file", ""), " ".join(form.get("question", "").split())
    record(session=session, actor=actor, action="faq.add", target_type="faq", target=file[:64],
           before={}, after={"question": question[:300]})
    try:
        if file not in {p.name for p in faq_files(faq.directory)}:
            raise CommerceError("Choose one of the FAQ files.")
        gaps.append_entry(faq.directory, file=file, question=question, also_asked=[],
                          answer=form.get("answer", ""), existing=faq.entries)
    except CommerceError as exc:
        return _refused(request, session, actor, understanding, exc, status=422)
    gaps.resolve(session, _resolves(form))
    session.commit()
    return None


@router.post("/merchant/synonyms")
def save_synonym(request: Request, understanding: UnderstandingDep, actor: OwnerDep,
                 session: SessionDep, form: FormDep) -> Response:
    """Map the shoppers' words to a catalog term (audited), mark the searches of the group
    answered, and have the search read it at once."""
    try:
        synonyms.save_synonym(session=session, actor=actor, understanding=understanding,
                              phrase=form.get("phrase", ""), name=form.get("name", ""),
                              value=form.get("value", ""))
    except CommerceError as exc:
        return _refused(request, session, actor, understanding, exc, status=422)
    gaps.resolve(session, _resolves(form))
    session.commit()
    _knowledge(request).reload_synonyms()
    return RedirectResponse(url("/merchant/questions", done="synonym"), status_code=303)


@router.post("/merchant/synonyms/{synonym_id}/remove")
def remove_synonym(request: Request, understanding: UnderstandingDep, actor: OwnerDep,
                   session: SessionDep,
                   synonym_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    try:
        synonyms.remove_synonym(session=session, actor=actor, synonym_id=synonym_id)
    except CommerceError as exc:
        return _refused(request, session, actor, understanding, exc, status=404)
    session.commit()
    _knowledge(request).reload_synonyms()
    return RedirectResponse(url("/merchant/questions", done="synonym_removed"),
                            status_code=303)
