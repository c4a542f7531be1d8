"""Rasa 3.6 checks every parsed message against the domain (``MessageProcessor.
_check_for_unseen_features``: a warning for an intent or entity the domain lacks), and asks
first whether the domain is empty, by building the domain's whole dictionary and that of a
new empty domain and comparing them: about 50 µs of each ``POST /model/parse`` and of each
chat turn's parse (3-4% of a served parse's CPU), for an answer that cannot change while
the processor keeps its domain.

:func:`install` makes the check ask it once per processor and domain; the intents and
entities are checked, and warned of, as Rasa does.
"""

from __future__ import annotations

from typing import Any

import rasa.shared.utils.io
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_URL_DOMAINS
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import INTENT_NAME_KEY

_EMPTY_DOMAIN = "_atelier_empty_domain"
"""The processor's attribute: (its domain, whether that domain is empty)."""


def domain_is_empty(processor: MessageProcessor, domain: Domain) -> bool:
    """``domain.is_empty()``, asked once for the processor's current domain."""
    known = getattr(processor, _EMPTY_DOMAIN, None)
    if known is None or known[0] is not domain:
        known = (domain, domain.is_empty())
        setattr(processor, _EMPTY_DOMAIN, known)
    return known[1]


def check_for_unseen_features(self: MessageProcessor, parse_data: dict[str, Any]) -> None:
    """``MessageProcessor._check_for_unseen_features`` of Rasa 3.6.21, the domain's
    emptiness asked once (:func:`domain_is_empty`)."""
    if not self.domain or domain_is_empty(self, self.domain):
        return
    intent = parse_data["intent"][INTENT_NAME_KEY]
    if intent and intent not in self.domain.intents:
        _warn_unseen("intent", intent)
    for element in parse_data["entities"] or []:
        entity = element["entity"]
        if entity and entity not in self.domain.entities:
            _warn_unseen("entity", entity)


def _warn_unseen(kind: str, name: str) -> None:
    """Rasa's warning of an intent or entity the domain lacks, in its words."""
    rasa.shared.utils.io.raise_warning(
        f"Parsed an {kind} '{name}' which is not defined in the domain. "
        f"Please make sure all {'entities' if kind == 'entity' else 'intents'} are listed "
        "in the domain.", docs=DOCS_URL_DOMAINS)


def install() -> None:
    MessageProcessor._check_for_unseen_features = (  # type: ignore[method-assign]
        check_for_unseen_features)
