"""Search as the shopper's words ask: the filters read from them, the product they name
first, and close matches when too few products have everything.

The filters read from the words are only as good as the catalog's tagging: "a jewellery
box" reads the category *jewellery* and the type *box*, which no product has together,
and the only product typed *cheese board* is not the only board a cheese lover wants. So
the results are the products meeting every filter (explicit and read), best first; when
fewer of them than a page (``limit``) exist, the page is filled with close matches:
those found when the read filters are dropped one at a time in ``RELAX_ORDER``. Filters
given explicitly and the price range are never dropped. Each result says which of the
shopper's words it does not meet (``unmet``), so the bot can tell a close match from a
match. The ranking is deterministic, so ``offset`` pages through the same list without
repeating a product, and the pages end with the last full match (or after the first
page, when it needed close matches): "show me more" never wanders off into the whole
catalog.

On the demo relevance set this keeps hybrid search's figures while applying the
filters (see ``knowledge/search_eval/README.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from knowledge.lexical import STOPWORDS
from knowledge.product_index import ProductIndex
from knowledge.search import (
    Preferences,
    QueryEncoder,
    SearchFilters,
    SearchHit,
    SearchMode,
    count,
    search,
    value_matches,
)
from knowledge.understanding import (
    ASKING_WORDS,
    CATEGORY,
    WORD_RE,
    Interpretation,
    Understood,
    normal,
)

RELAX_ORDER = ("material", "style", "occasion", "colour", "type")
"""Read filters dropped first to last; any other attribute goes before these, and the
category goes first when a type is read too ("a leather laptop bag": bags of any
category before leather goods of any type), last otherwise."""


@dataclass(frozen=True)
class UnderstoodResults:
    hits: list[SearchHit]
    reading: Interpretation
    """What was read and applied: without what an explicit filter overrode."""
    filters: SearchFilters
    """Every filter applied to the full matches: the explicit ones and those read."""
    relaxed: list[Understood]
    """The read filters dropped to fill the page, in the order they were dropped."""
    ranked_by: str = ""
    """The words the results were ranked by (``ranked_text``)."""


class _OnceEncoder:
    """Encodes the query once for all the stages of one request."""

    def __init__(self, encoder: QueryEncoder) -> None:
        self.encoder = encoder
        self.cache: dict[str, np.ndarray] = {}

    def encode_one(self, text: str) -> np.ndarray:
        if text not in self.cache:
            self.cache[text] = self.encoder.encode_one(text)
        return self.cache[text]


def with_interpretation(filters: SearchFilters, interpretation: Interpretation) -> SearchFilters:
    """``filters`` completed by what the words say; a filter given explicitly wins."""
    low = filters.min_price if filters.min_price is not None else interpretation.min_price
    high = filters.max_price if filters.max_price is not None else interpretation.max_price
    if low is not None and high is not None and low > high:
        low, high = filters.min_price, filters.max_price
    return SearchFilters(min_price=low, max_price=high,
                         category=filters.category or interpretation.category,
                         attributes={**interpretation.attributes, **filters.attributes},
                         in_stock=filters.in_stock)


def overridden(reading: Interpretation, explicit: SearchFilters) -> Interpretation:
    """``reading`` without what the explicit filters set otherwise ("in green" given as
    ``attr.colour=green`` replaces the "blue" of the words)."""
    explicit_price = explicit.min_price is not None or explicit.max_price is not None

    def kept(said: Understood) -> bool:
        if said.name == CATEGORY:
            return not explicit.category
        if said.name == "price":
            return not explicit_price
        return said.name not in explicit.attributes

    return replace(
        reading, understood=tuple(u for u in reading.understood if kept(u)),
        category=None if explicit.category else reading.category,
        attributes={k: v for k, v in reading.attributes.items() if k not in explicit.attributes},
        preferences={k: v for k, v in reading.preferences.items()
                     if k not in explicit.attributes},
        min_price=None if explicit_price else reading.min_price,
        max_price=None if explicit_price else reading.max_price)


def relax_order(filters: SearchFilters, reading: Interpretation,
                explicit: SearchFilters) -> list[str]:
    """The read filters that may be dropped, first to last (names; ``category``)."""
    names = [n for n in reading.attributes if n not in explicit.attributes
             and n in filters.attributes]
    ordered = [n for n in names if n not in RELAX_ORDER]
    ordered += [n for n in RELAX_ORDER if n in names]
    if reading.category and not explicit.category:
        if "type" in names:
            ordered.insert(0, CATEGORY)
        else:
            ordered.append(CATEGORY)
    return ordered


def _without(filters: SearchFilters, name: str) -> SearchFilters:
    if name == CATEGORY:
        return replace(filters, category=None)
    return replace(filters, attributes={k: v for k, v in filters.attributes.items()
                                        if k != name})


def unmet(hit: SearchHit, filters: SearchFilters, reading: Interpretation) -> list[str]:
    """The read values this product lacks, as the bot says them."""
    lacking = []
    for said in reading.understood:
        if said.name == CATEGORY:
            if filters.category == said.values[0] and hit.doc.category != filters.category:
                lacking.append(said.value)
        elif said.name in filters.attributes and filters.attributes[said.name] and not \
                value_matches(hit.variant.attributes.get(said.name),
                              filters.attributes[said.name]):
            lacking.append(said.value)
    return list(dict.fromkeys(lacking))


_ASKING = frozenset(normal(w) for w in ASKING_WORDS)
_LETTERS_RE = re.compile(r"[^a-z]")


def _asking(word: str) -> bool:
    """"loves", "looking", "loved", "giving", "gifts": a word of asking (``ASKING_WORDS``)."""
    norm = normal(_LETTERS_RE.sub("", word.lower()))
    bases = [norm.removesuffix(end) for end in ("ing", "ed") if norm.endswith(end)]
    return any(form in _ASKING for form in (norm, *bases, *(b + "e" for b in bases)))


RECIPIENTS = frozenset({
    "me", "myself", "her", "him", "them", "us", "sister", "brother", "mum", "mom", "mother",
    "dad", "father", "parents", "wife", "husband", "partner", "girlfriend", "boyfriend", "fiance",
    "fiancee", "friend", "friends", "bestie", "son", "daughter", "kids", "kid", "child",
    "children", "baby", "grandma", "grandmother", "gran", "nan", "granny", "grandpa",
    "grandfather", "grandad", "grandparents", "aunt", "uncle", "niece", "nephew", "cousin",
    "colleague", "colleagues", "boss", "teacher", "neighbour", "host", "hostess", "couple",
    "family", "someone", "somebody"
})
"""Who a gift is for: words of the request that are not what it is about."""


def _said_only(words: list[str]) -> bool:
    return all(_LETTERS_RE.sub("", w.lower()) in STOPWORDS for w in words)


def _interest(reading: Interpretation, words: list[str]) -> bool:
    """Whether ``words`` say what the piece should be about beyond what the catalog read
    (the "gardening" of "a birthday present, she loves gardening"): a word that is no
    stop word, no recipient and none of the words read."""
    read = {w for u in reading.understood for w in WORD_RE.findall(u.words.lower())}
    for word in words:
        if any(ch.isdigit() for ch in word):
            continue  # "3rd", "30cm"
        bare = _LETTERS_RE.sub("", word.lower())
        if bare and bare not in STOPWORDS and bare not in RECIPIENTS and bare not in read \
                and normal(bare).removesuffix("s") not in RECIPIENTS:
            return True
    return False


def ranked_text(reading: Interpretation) -> str:
    """What the results are ranked by: the request without its words of asking ("she
    loves gardening" would otherwise put a Love Heart print among the planters), unless
    they are all it says ("i want to buy a gift"); and, when it says what the piece should
    be about, without the occasion's words, which rank by their boost: "a birthday
    present, she loves gardening" puts the planters first (the birthday ones among them
    higher), not every birthday card."""
    kept = [w for w in reading.text.split() if not _asking(w)]
    if _said_only(kept):
        return reading.text
    occasion = {w for u in reading.understood if u.soft and u.name == "occasion"
                for w in WORD_RE.findall(u.words.lower())}
    rest = [w for w in kept if _LETTERS_RE.sub("", w.lower()) not in occasion]
    return " ".join(rest if occasion and _interest(reading, rest) else kept)


def search_understood(*, index: ProductIndex, embedder: QueryEncoder, reading: Interpretation,
                      explicit: SearchFilters, limit: int, offset: int = 0,
                      boosts: Preferences | None = None, like: int | None = None,
                      include_liked: bool = False, mode: SearchMode = "hybrid"
                      ) -> UnderstoodResults:
    """One page of results for what ``reading`` asks, within the ``explicit`` filters."""
    reading = overridden(reading, explicit)
    full = with_interpretation(explicit, reading)
    encoder = _OnceEncoder(embedder)
    named = reading.product.id if reading.product is not None and like is None else None
    boosts = {**reading.preferences, **(boosts or {})}
    ranked_by = ranked_text(reading)
    common = {"index": index, "embedder": encoder, "query": ranked_by, "boosts": boosts,
              "like": like, "include_liked": include_liked, "mode": mode}
    if count(index=index, filters=full) + (named is not None) >= limit:
        hits = search(**common, limit=limit, offset=offset, filters=full, named=named)
        return UnderstoodResults(hits=[replace(h, unmet=unmet(h, full, reading)) for h in hits],
                                 reading=reading, filters=full, relaxed=[],
                                 ranked_by=ranked_by)
    collected: list[SearchHit] = []
    relaxed: list[Understood] = []
    stage = full
    order = relax_order(full, reading, explicit)
    while True:
        found = search(**common, limit=limit - len(collected), filters=stage, named=named,
                       exclude=[h.doc.id for h in collected])
        collected += [replace(h, unmet=unmet(h, full, reading)) for h in found]
        named = None
        if len(collected) >= limit or not order:
            break
        dropped = order.pop(0)
        stage = _without(stage, dropped)
        relaxed += [u for u in reading.understood if u.name == dropped]
    return UnderstoodResults(hits=collected[offset:offset + limit], reading=reading,
                             filters=full, relaxed=relaxed, ranked_by=ranked_by)
