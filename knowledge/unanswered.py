"""What shoppers asked that the shop could not answer, grouped by meaning.

Two kinds, read from the conversations' transcripts and handoffs: **searches that found
nothing** (the shopper's message the bot answered with its "found nothing" reply) and
**questions the FAQ declined** (the shopper's last message before the conversation went
to the agents' queue because the FAQ had no confident answer). Messages are grouped by
their sentence embeddings: each joins the group whose first message it is closest to, if
the cosine similarity reaches :data:`SIMILAR`, else it starts a group of its own; a group
is shown by its message closest to the group's mean, with how many it holds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_core.models import Conversation, ConversationEvent, ConversationMessage

SIMILAR = 0.7
MAX_MESSAGES = 2000
NO_RESULTS, FAQ_DECLINED = "search found nothing", "the FAQ had no answer"


@dataclass(frozen=True)
class Unanswered:
    kind: str
    text: str
    conversation_id: str
    at: datetime


@dataclass
class Group:
    kind: str
    representative: str
    items: list[Unanswered] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)


def _shopper_before(messages: Sequence[ConversationMessage], index: int) -> str | None:
    for message in reversed(messages[:index]):
        if message.role == "shopper" and message.text and not message.text.startswith("/"):
            return message.text.strip()
    return None


def unanswered(*, session: Session, since: datetime, until: datetime,
               no_results: Collection[str]) -> list[Unanswered]:
    """The unanswered messages of the conversations begun in the period, oldest first."""
    begun = (Conversation.created_at >= since, Conversation.created_at < until)
    declined = session.execute(
        select(ConversationEvent.conversation_id, ConversationEvent.created_at)
        .join(Conversation, Conversation.id == ConversationEvent.conversation_id)
        .where(ConversationEvent.to_state == "waiting",
               ConversationEvent.reason == "faq_unanswered", *begun)).all()
    nothing_found = {text.strip() for text in no_results}
    wanted = {cid for cid, _ in declined}
    if nothing_found:
        wanted |= set(session.scalars(
            select(ConversationMessage.conversation_id)
            .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
            .where(ConversationMessage.role == "bot",
                   ConversationMessage.text.in_(sorted(nothing_found)), *begun)))
    found: list[Unanswered] = []
    for cid in sorted(wanted):
        messages = list(session.scalars(
            select(ConversationMessage).where(ConversationMessage.conversation_id == cid)
            .order_by(ConversationMessage.id)))
        for i, message in enumerate(messages):
            said = (message.text or "").strip()
            asked = (_shopper_before(messages, i)
                     if message.role == "bot" and said in nothing_found else None)
            if asked is not None:
                found.append(Unanswered(NO_RESULTS, asked, cid, message.ts))
        for at in (at for event_cid, at in declined if event_cid == cid):
            before = [m for m in messages if m.ts <= at]
            if (asked := _shopper_before(before, len(before))) is not None:
                found.append(Unanswered(FAQ_DECLINED, asked, cid, at))
    found.sort(key=lambda u: u.at)
    return found[-MAX_MESSAGES:]


def group(items: Sequence[Unanswered], vectors: np.ndarray,
          similar: float = SIMILAR) -> list[Group]:
    """Greedy grouping of ``items`` (one L2-normalised row of ``vectors`` each), per kind;
    the largest groups first."""
    groups: list[Group] = []
    firsts: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, item in enumerate(items):
        best, score = -1, similar
        for g, first in enumerate(firsts):
            if groups[g].kind == item.kind and float(first @ vectors[i]) >= score:
                best, score = g, float(first @ vectors[i])
        if best < 0:
            groups.append(Group(item.kind, item.text))
            firsts.append(vectors[i])
            members.append([])
            best = len(groups) - 1
        groups[best].items.append(item)
        members[best].append(i)
    for g, rows in zip(groups, members, strict=True):
        mean = vectors[rows].mean(axis=0)
        g.representative = items[rows[int(np.argmax(vectors[rows] @ mean))]].text
    return sorted(groups, key=lambda g: (-g.count, g.representative))
