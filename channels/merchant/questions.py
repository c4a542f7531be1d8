"""Unanswered questions: searches that found nothing and questions the FAQ declined (as
``knowledge.gaps`` recorded them), grouped by meaning, each with a form that writes an FAQ
entry (appended to a file of the FAQ directory and served at once); the group's questions
are then marked answered."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels.merchant.auth import FormDep, OwnerDep
from channels.merchant.html import Html, h, join, page, table, url
from commerce_core import clock
from commerce_core.audit.service import Actor, record
from commerce_core.db import SessionDep
from commerce_core.errors import CommerceError
from knowledge import gaps
from knowledge.faq_library import faq_files
from knowledge.faq_service import FaqService

router = APIRouter(include_in_schema=False)
Days = Annotated[int, Query(ge=7, le=90)]
SHOWN_GROUPS = 50
KINDS = {"search": "search found nothing", "faq": "the FAQ had no answer"}


def _faq(request: Request) -> FaqService:
    return request.app.state.faq


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


def questions_page(request: Request, session: Session, actor: Actor, days: int, *,
                   notice: str | None = None, error: str | None = None,
                   status: int = 200) -> HTMLResponse:
    groups = _groups(request, session, days)
    files = [p.name for p in faq_files(_faq(request).directory)]
    rows = [(KINDS[g.kind], h("<strong>{}</strong>", g.representative), g.count,
             "; ".join(e for e in g.examples if e != g.representative)[:300],
             _form(files, g, n))
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
async def write_entry(request: Request, actor: OwnerDep, session: SessionDep,
                      form: FormDep) -> Response:
    """Append the entry, mark its group answered and audit it; the audit entry is committed
    once the file is written (a refused entry writes neither)."""
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
        session.rollback()
        return questions_page(request, session, actor, 30, error=exc.message, status=422)
    gaps.resolve(session, [line for line in form.get("resolves", "").split("\n") if line])
    session.commit()
    await run_in_threadpool(faq.reload)
    return RedirectResponse(url("/merchant/questions", done="faq"), status_code=303)
