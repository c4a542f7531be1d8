"""The merchant's search synonyms: a shopper's word or phrase that means a term of the
catalog ("charcuterie platter" → type *cheese board*), kept in ``search_synonym`` and read
by the live query understanding as soon as they are saved (``KnowledgeService
.reload_synonyms``), without retraining anything. Each change is audited."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_core.audit.service import Actor, record
from commerce_core.errors import InvalidInput, NotFound
from commerce_core.models import SearchSynonym
from commerce_core.params import CONTROL_RE
from knowledge.understanding import CATEGORY, QueryInterpreter, Synonym, phrase_of

MAX_PHRASE = 60
MAX_VALUE = 100


class SynonymRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> Sequence[SearchSynonym]:
        return self.session.scalars(select(SearchSynonym).order_by(SearchSynonym.phrase)).all()

    def by_phrase(self, phrase: str) -> SearchSynonym | None:
        return self.session.scalar(select(SearchSynonym).where(SearchSynonym.phrase == phrase))

    def get(self, synonym_id: int) -> SearchSynonym | None:
        return self.session.get(SearchSynonym, synonym_id)

    def add(self, synonym: SearchSynonym) -> None:
        self.session.add(synonym)
        self.session.flush()

    def delete(self, synonym: SearchSynonym) -> None:
        self.session.delete(synonym)
        self.session.flush()


def terms(session: Session) -> tuple[Synonym, ...]:
    """Every synonym, as the query understanding takes them."""
    return tuple((s.phrase, s.target_name, s.target_value)
                 for s in SynonymRepository(session).all())


def _means(synonym: SearchSynonym) -> dict[str, str]:
    return {"means": f"{synonym.target_name}: {synonym.target_value}"}


def clean_phrase(text: str) -> str:
    """The shopper's phrase, lower-case and single-spaced.

    Raises:
        InvalidInput: empty, too long, on several lines, or without a word.
    """
    phrase = " ".join((text or "").lower().split())
    if not phrase or not phrase_of(phrase):
        raise InvalidInput("Write the shopper's word or phrase.", code="invalid_synonym")
    if len(phrase) > MAX_PHRASE or CONTROL_RE.search(text):
        raise InvalidInput(f"A synonym is at most {MAX_PHRASE} characters on one line.",
                           code="invalid_synonym")
    return phrase


def save_synonym(*, session: Session, actor: Actor, understanding: QueryInterpreter,
                 phrase: str, name: str, value: str) -> SearchSynonym:
    """Map ``phrase`` to the catalog term ``name``: ``value`` (a phrase mapped already is
    mapped anew).

    Raises:
        InvalidInput: a phrase that is empty, too long or already a catalog term, or a
            term the catalog does not have.
    """
    phrase = clean_phrase(phrase)
    name = " ".join((name or "").lower().split())
    if name not in understanding.terms:
        names = ", ".join([CATEGORY, *sorted(n for n in understanding.terms if n != CATEGORY)])
        raise InvalidInput(f"The catalog has no {name[:40]!r}: choose one of {names}.",
                           code="unknown_catalog_term")
    term = understanding.catalog_term(name, (value or "")[:MAX_VALUE + 1])
    if term is None:
        raise InvalidInput(f"No product of the catalog has the {name} {(value or '')[:60]!r}.",
                           code="unknown_catalog_term")
    if understanding.is_term(phrase):
        raise InvalidInput(f"{phrase!r} is already a term of the catalog: the search "
                           "reads it as it is.", code="synonym_is_catalog_term")
    repository = SynonymRepository(session)
    synonym = repository.by_phrase(phrase)
    before = _means(synonym) if synonym is not None else {}
    if synonym is None:
        synonym = SearchSynonym(phrase=phrase, target_name=name, target_value=term)
        repository.add(synonym)
    else:
        synonym.target_name, synonym.target_value = name, term
    record(session=session, actor=actor, action="synonym.save", target_type="synonym",
           target=phrase, before=before, after=_means(synonym))
    return synonym


def remove_synonym(*, session: Session, actor: Actor, synonym_id: int) -> SearchSynonym:
    """Raises:
        NotFound: no such synonym.
    """
    repository = SynonymRepository(session)
    synonym = repository.get(synonym_id)
    if synonym is None:
        raise NotFound(f"There is no synonym {synonym_id}.", code="synonym_not_found")
    record(session=session, actor=actor, action="synonym.remove", target_type="synonym",
           target=synonym.phrase, before=_means(synonym), after={})
    repository.delete(synonym)
    return synonym
