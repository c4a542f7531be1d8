"""Unanswered questions: searches that found nothing and questions the FAQ declined,
grouped by meaning, each with a form that writes an FAQ entry (appended to a file of the
FAQ directory; the FAQ watcher serves it at its next check)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.funnel import no_result_replies
from channels.merchant.html import Html, h, join, page, table, url
from commerce_core import clock
from commerce_core.audit.service import Actor, record
from commerce_core.db import SessionDep
from knowledge.faq_library import faq_files
from knowledge.faq_service import FaqService
from knowledge.faq_writer import FaqEntryRefused, append_entry
from knowledge.service import KnowledgeService
from knowledge.unanswered import Group, group, unanswered

router = APIRouter(include_in_schema=False)
Days = Annotated[int, Query(ge=7, le=90)]
SHOWN_GROUPS = 50


def _faq(request: Request) -> FaqService:
    return request.app.state.faq


def _groups(request: Request, session: Session, days: int) -> list[Group]:
    last = clock.now().date()
    since = datetime.combine(last - timedelta(days=days - 1), time(), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    items = unanswered(session=session, since=since, until=until,
                       no_results=no_result_replies())
    if not items:
        return []
    knowledge: KnowledgeService = request.app.state.knowledge
    vectors = np.asarray(knowledge.embedder.encode([i.text for i in items]))
    return group(items, vectors)[:SHOWN_GROUPS]


def _form(files: list[str], representative: str, index: int) -> Html:
    choices = join(h('<option value="{0}">{0}</option>', name) for name in files)
    return h('<form method="post" action="/merchant/faq" class="faq-form" id="faq-{i}">'
             '<label>File <select name="file">{choices}</select></label>'
             '<label>Question <input name="question" value="{q}" required maxlength="300">'
             '</label><label>Answer <textarea name="answer" rows="3" required '
             'maxlength="20000"></textarea></label>'
             '<button type="submit">Write an FAQ entry</button></form>',
             i=index, choices=choices, q=representative)


def questions_page(request: Request, session: Session, actor: Actor, days: int, *,
                   notice: str | None = None, error: str | None = None,
                   status: int = 200) -> HTMLResponse:
    groups = _groups(request, session, days)
    files = [p.name for p in faq_files(_faq(request).directory)]
    rows = [(g.kind, h("<strong>{}</strong>", g.representative), g.count,
             "; ".join(dict.fromkeys(i.text for i in g.items if i.text != g.representative))
             [:300], _form(files, g.representative, n))
            for n, g in enumerate(groups)]
    choices = join(h('<a href="{}">{} days</a>', url("/merchant/questions", days=n), n)
                   for n in (7, 30, 90))
    return page(title="Unanswered questions", actor=actor, notice=notice, error=error,
                status=status, body=join([
                    h('<p class="paging">{}</p>', choices),
                    table(["Kind", "Asked", "Times", "Also asked as", ""], rows,
                          empty="Every search found something and the FAQ answered every "
                                "question.", css="questions")]))


@router.get("/merchant/questions")
def unanswered_page(request: Request, actor: OwnerDep, session: SessionDep,
                    days: Days = 30, done: str = "") -> HTMLResponse:
    return questions_page(request, session, actor, days, notice=(
        "The entry was added; the bot answers with it within seconds." if done else None))


@router.post("/merchant/faq")
def write_entry(request: Request, actor: OwnerDep, session: SessionDep,
                form: FormDep) -> Response:
    """Append the entry and audit it; the audit entry is committed once the file is
    written (a refused entry writes neither)."""
    file, question = form.get("file", ""), " ".join(form.get("question", "").split())
    record(session=session, actor=actor, action="faq.add", target_type="faq", target=file[:64],
           before={}, after={"question": question[:300]})
    try:
        append_entry(directory=_faq(request).directory, file=file, question=question,
                     answer=form.get("answer", ""))
    except FaqEntryRefused as exc:
        session.rollback()
        return questions_page(request, session, actor, 30, error=str(exc), status=422)
    session.commit()
    return RedirectResponse(url("/merchant/questions", done="faq"), status_code=303)
