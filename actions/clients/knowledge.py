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
    async def answer(self, question: str, *, faq_intent: float | None = None,
                     record_gap: bool = True) -> FaqAnswer:
        """The FAQ's answer to ``question``. ``faq_intent``: the NLU's confidence in the
        ``faq`` intent, when it read the message so; ``record_gap=False`` when the bot only
        checks whether the FAQ covers a message (an unanswered one is not kept for the
        merchant)."""
        body: dict[str, object] = {"question": question[:MAX_QUESTION_CHARS]}
        if faq_intent is not None:
            body["faq_intent"] = round(min(max(faq_intent, 0.0), 1.0), 4)
        if not record_gap:
            body["record_gap"] = False
        data = await self._post("/faq/answer", json=body)
        return FaqAnswer.model_validate(data)
