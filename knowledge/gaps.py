"""What shoppers asked that the shop could not answer, grouped by meaning, and the FAQ
entries a merchant writes to answer it.

The FAQ route records each question it declines, the search route each search that found
nothing (``record``). ``clusters`` groups the open ones by meaning: normalised MiniLM
vectors, each question joining the group whose first member it is closest to when the
cosine reaches ``SAME_MEANING``, the most asked first; a group is shown by its most
central question (the one closest to all the others, weighted by how often each was
asked). ``append_entry`` adds a Markdown entry to a file of the FAQ folder, checked by the
FAQ's own parser first, so the watcher serves it within a second or two.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from commerce_core.errors import InvalidInput
from commerce_core.models import UnansweredQuestion
from commerce_core.models.base import utcnow
from knowledge.faq_index import TextEncoder
from knowledge.faq_parser import (
    ALSO_ASKED,
    HEADING_RE,
    MAX_ANSWER_CHARS,
    MAX_FILE_BYTES,
    MAX_QUESTION_CHARS,
    FaqEntry,
    normalise_question,
    parse_faq_text,
)

log = logging.getLogger(__name__)
KINDS = ("faq", "search")
SAME_MEANING = 0.65
"""Cosine at which two questions count as one: over the pairs of labelled paraphrases of
``faq_eval`` (demo shop), 80% of the pairs at least this close ask the same entry (83% at
0.7, 67% at 0.6); fewer groups merged wrongly matter more to a merchant than a few
wordings shown apart."""
MAX_QUESTIONS = 5000
"""The newest open questions read for grouping."""
FILE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}\.md$")
MAX_TEXT = 1000


def record(session: Session, *, kind: str, text: str) -> None:
    """Keep a question the shop had no answer for; a database problem is logged, never
    raised (the shopper's answer matters more than the statistic)."""
    text = " ".join(text.split())[:MAX_TEXT]
    if kind not in KINDS or not text or text.startswith("/"):
        return
    try:
        session.add(UnansweredQuestion(kind=kind, text=text))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("could not record an unanswered %s question", kind, exc_info=True)


@dataclass(frozen=True)
class Cluster:
    kind: str
    representative: str
    count: int
    """How many times questions of this group were asked."""
    examples: list[str]
    """Its distinct wordings, the most asked first (at most five)."""
    last_asked: datetime
    wordings: list[str]
    """All its distinct wordings (what ``resolve`` takes to mark the group answered)."""


def _open_questions(session: Session, kind: str | None, since: datetime | None
                    ) -> list[UnansweredQuestion]:
    query = select(UnansweredQuestion).where(UnansweredQuestion.resolved_at.is_(None))
    if kind is not None:
        query = query.where(UnansweredQuestion.kind == kind)
    if since is not None:
        query = query.where(UnansweredQuestion.created_at >= since)
    return list(session.scalars(query.order_by(UnansweredQuestion.id.desc())
                                .limit(MAX_QUESTIONS)))


def group(texts: Counter[str], vectors: dict[str, np.ndarray],
          threshold: float = SAME_MEANING) -> list[list[str]]:
    """Groups of texts of the same meaning, each group's texts most asked first."""
    groups: list[list[str]] = []
    leaders: list[np.ndarray] = []
    for text, _ in sorted(texts.items(), key=lambda item: (-item[1], item[0])):
        vector = vectors[text]
        if leaders:
            similarity = np.stack(leaders) @ vector
            best = int(np.argmax(similarity))
            if similarity[best] >= threshold:
                groups[best].append(text)
                continue
        groups.append([text])
        leaders.append(vector)
    return groups


def central(members: list[str], texts: Counter[str], vectors: dict[str, np.ndarray]) -> str:
    """The member closest to all the others, each weighted by how often it was asked."""
    if len(members) == 1:
        return members[0]
    matrix = np.stack([vectors[m] for m in members])
    weights = np.array([texts[m] for m in members], dtype=np.float32)
    return members[int(np.argmax((matrix @ matrix.T) @ weights))]


def clusters(session: Session, encoder: TextEncoder, *, kind: str | None = None,
             since: datetime | None = None, limit: int = 20) -> list[Cluster]:
    """The open questions grouped by meaning, the most asked groups first."""
    rows = _open_questions(session, kind, since)
    unique = list(dict.fromkeys(r.text for r in rows))  # one encoding run for every kind
    vectors = dict(zip(unique, encoder.encode(unique), strict=True)) if unique else {}
    out: list[Cluster] = []
    for each_kind in KINDS:
        mine = [r for r in rows if r.kind == each_kind]
        if not mine:
            continue
        texts = Counter(r.text for r in mine)
        last = {}
        for r in mine:
            last[r.text] = max(last.get(r.text, r.created_at), r.created_at)
        for members in group(texts, vectors):
            out.append(Cluster(kind=each_kind,
                               representative=central(members, texts, vectors),
                               count=sum(texts[m] for m in members), examples=members[:5],
                               last_asked=max(last[m] for m in members), wordings=members))
    out.sort(key=lambda c: (-c.count, c.representative))
    return out[:limit]


def resolve(session: Session, texts: list[str]) -> int:
    """Mark the open questions with these exact wordings answered; returns how many."""
    if not texts:
        return 0
    result = session.execute(
        update(UnansweredQuestion)
        .where(UnansweredQuestion.text.in_([" ".join(t.split()) for t in texts]),
               UnansweredQuestion.resolved_at.is_(None))
        .values(resolved_at=utcnow()))
    return int(result.rowcount or 0)


def entry_markdown(question: str, also_asked: list[str], answer: str) -> str:
    lines = [f"## {' '.join(question.split())}"]
    also = [" ".join(a.split()) for a in also_asked if a.strip()]
    if also:
        lines.append("Also asked: " + " | ".join(also))
    return "\n".join(lines) + "\n\n" + answer.strip() + "\n"


def _check_entry(file: str, question: str, also_asked: list[str], answer: str) -> None:
    if not FILE_NAME_RE.match(file):
        raise InvalidInput("The file must be a plain name ending in .md (lower-case letters, "
                           "digits, - and _).", code="invalid_faq_file")
    for phrasing in [question, *also_asked]:
        if (not 1 <= len(phrasing) <= MAX_QUESTION_CHARS or phrasing.startswith("#")
                or "|" in phrasing):
            raise InvalidInput(f"A question must be 1-{MAX_QUESTION_CHARS} characters of text "
                               "on one line, without '|' (it separates 'Also asked' "
                               "phrasings).", code="invalid_faq_entry")
    if not 1 <= len(answer) <= MAX_ANSWER_CHARS:
        raise InvalidInput(f"The answer must be 1-{MAX_ANSWER_CHARS} characters.",
                           code="invalid_faq_entry")
    if answer.lower().startswith(ALSO_ASKED):
        raise InvalidInput("Other phrasings go in 'Also asked'; the answer may not begin "
                           "with 'Also asked:'.", code="invalid_faq_entry")
    if any(HEADING_RE.match(line) for line in answer.split("\n")):
        raise InvalidInput("The answer may not hold a line starting with '## ': that starts "
                           "another question.", code="invalid_faq_entry")


def append_entry(directory: Path, *, file: str, question: str, also_asked: list[str],
                 answer: str, existing: tuple[FaqEntry, ...]) -> str:
    """Append an entry to ``directory/file`` (created if new); returns ``file:line`` of its
    heading. Refused (``InvalidInput``) when the file name is not a plain ``name.md``, the
    question or answer is out of bounds or would start another entry, a phrasing repeats
    one the FAQ already has, or the FAQ's parser finds a problem in the file with the entry
    added — the file is then left as it was. It is replaced in one step (a hidden
    temporary file renamed over it), so the FAQ's watcher never reads half an entry."""
    question = " ".join(question.split())
    also_asked = [" ".join(a.split()) for a in also_asked if a.strip()]
    answer = answer.replace("\r\n", "\n").strip()
    _check_entry(file, question, also_asked, answer)
    known = {normalise_question(p): e.question for e in existing for p in e.phrasings}
    for phrasing in [question, *also_asked]:
        if normalise_question(phrasing) in known:
            raise InvalidInput(f"The FAQ already answers {phrasing!r} (under "
                               f"{known[normalise_question(phrasing)]!r}); edit that entry "
                               "instead.", code="duplicate_faq_question")
    path = directory / file
    before = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    separator = ("" if not before or before.endswith("\n\n")
                 else "\n" if before.endswith("\n") else "\n\n")
    after = before + separator + entry_markdown(question, also_asked, answer)
    entries, problems = parse_faq_text(after, name=file)
    if problems:
        raise InvalidInput(f"The entry would break {file}: {problems[0]}",
                           code="invalid_faq_entry", details=[str(p) for p in problems])
    data = after.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{file} would grow beyond {MAX_FILE_BYTES} bytes.",
                           code="invalid_faq_entry")
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".faq-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return entries[-1].source
