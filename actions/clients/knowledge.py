"""The merchant's FAQ, answered by the knowledge API."""

from __future__ import annotations

from pydantic import BaseModel

from actions.clients.commerce import CommerceClient

MAX_QUESTION_CHARS = 1000


class FaqCandidate(BaseModel):
    question: str
    score: float


class FaqAnswer(BaseModel):
    """``answer`` is None when no entry matches confidently; then see ``candidates``."""

    answer: str | None = None
    question: str | None = None
    candidates: list[FaqCandidate] = []


class KnowledgeClient(CommerceClient):
    async def answer(self, question: str) -> FaqAnswer:
        data = await self._post("/faq/answer", json={"question": question[:MAX_QUESTION_CHARS]})
        return FaqAnswer.model_validate(data)
