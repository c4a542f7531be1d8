"""Read a shopper's words against the live catalog: which product they name, which
category and attribute values they ask for, which price range.

The vocabulary is built from the product index itself (``ProductIndex.understanding``),
so it changes when the index does: a product the merchant imported a minute ago — a
new type, material or colour — is understood as soon as the index holds it, with no
lookup table to regenerate and no model to retrain. Rasa decides what the shopper
wants to do; this decides what they are talking about.

Reading one request, in order:

1. Price phrases (``knowledge.prices``) set the price range; their words are taken out
   of the text that is ranked.
2. A product name (``knowledge.product_names``): "blue willow mug" names the Blue
   Willow Ceramic Mug, "blue ceramic mug" describes a kind of product and names none.
   Its words are then neither prices nor filters.
3. Catalog values, longest phrase first: categories and the values of every attribute
   (type, colour, material, scent, …) but sizes. Only a whole value is read ("book"
   alone is not "guest book"), but it also accepts, in the same attribute, the values
   it is the last words of and the values that are its own last words: "board" takes
   cheese boards and chopping boards, "cheese board" takes a product typed plain
   "board". A phrase that is a value of several attributes is read as the one the
   shopper wrote exactly ("ceramic" the material, "ceramics" the category), then the
   one more products carry. Values that are numbers, one or two letters, or words such
   as "yes" are never read from a sentence. Style and occasion are read as preferences
   that rank, not as filters (``SOFT_ATTRIBUTES``).

The merchant's synonyms (``knowledge.synonyms``) add phrases of the shoppers' own that
mean a catalog term ("charcuterie platter" → type *cheese board*); they are read like the
term itself, and an explicit filter that names one is taken as the term (``term``).

Words are lower-cased, American spellings folded to British ones ("gray" → "grey"),
plurals folded ("mugs" → "mug", "scarves" → "scarf"); a word of ``FUZZY_MIN_LENGTH``
letters or more that the catalog does not contain anywhere is read as the catalog value
or name word within one edit of it (two from ``FUZZY_LONG_LENGTH`` letters) starting
with the same letter — never a shorter word, so "bold" stays bold and a "cat lover"
does not become a cover. A value right after "not", "no" or "without" is not applied.
Everything else is left to the dense and lexical ranking.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from knowledge.chat_words import spelled_out
from knowledge.lexical import SPELLING, STOPWORDS, edit_distance, stem
from knowledge.prices import CENT, PricePhrase, describe_price, find_prices
from knowledge.product_names import ProductNames

if TYPE_CHECKING:
    from knowledge.product_index import ProductDoc, ProductIndex

FUZZY_MIN_LENGTH = 5
FUZZY_LONG_LENGTH = 8
NEGATIONS = frozenset({"not", "no", "without", "non", "except", "nothing"})
SOFT_ATTRIBUTES = ("style", "occasion")
"""Attributes read as preferences, not filters: how a merchant tags style ("vintage",
"boho") and occasion ("wedding", "christmas") is a matter of taste, and a product
tagged otherwise is often just as right. On the tuning half of the demo relevance set,
filtering on them gave nDCG@10 0.904 against 0.909 as preferences."""
ASKING_WORDS = ("love", "like", "want", "need", "look", "get", "buy", "find", "give",
                "show", "have", "help", "gift", "present")
"""Words of asking, never a request's subject even where a product's name has them
("she loves gardening" against a Love Heart print; "a gift" against Gift Tags)."""
UNREAD_ATTRIBUTES = frozenset({"size"})
"""Sizes are measurements and letters ("m", "l", "30 cm", "baby", "large") that collide
with ordinary words ("a large vase", "for a baby"); the shopper picks one on the
product. (The lexical index leaves them out of the product text for the same reason.)"""
UNSAID_VALUES = frozenset({"yes", "no", "true", "false", "none", "other", "one size", "n/a"})
SYNONYMS = {**SPELLING, "multicoloured": "multicolour", "multicolored": "multicolour",
            "colourful": "multicolour", "colorful": "multicolour", "jewelery": "jewellery"}
CATEGORY = "category"
WORD_RE = re.compile(r"[a-z0-9]+")
CHEAP_SHARE = Decimal(1) / 3
""""cheap" keeps the cheapest third of the products matching the rest of the request,
"expensive" the dearest third."""


def _clean(text: str) -> str:
    return text.lower().replace("'", "").replace("’", "")


def _surface(word: str) -> str:
    return SYNONYMS.get(word, word)


def normal(word: str) -> str:
    return stem(_surface(word))


def phrase_of(text: str) -> tuple[str, ...]:
    return tuple(normal(w) for w in WORD_RE.findall(_clean(text)))


def _sayable(words: Sequence[str], value: str) -> bool:
    """Whether shoppers can mean this value by writing it in a sentence."""
    if value in UNSAID_VALUES:
        return False
    return any((w.isalpha() and len(w) >= 3 and w not in STOPWORDS)
               or (len(w) >= 2 and not w.isalpha() and not w.isdigit()) for w in words)


def _deletes(word: str) -> Iterator[str]:
    yield word
    for i in range(len(word)):
        yield word[:i] + word[i + 1:]


@dataclass(frozen=True)
class Understood:
    """One thing the shopper said: a category, an attribute value or a price range."""

    name: str
    """``category``, an attribute name, or ``price``."""
    value: str
    """As the bot can say it: the catalog value, or "up to 60.00 EUR"."""
    values: tuple[str, ...]
    """The catalog values accepted (more than one for "board": cheese and chopping boards)."""
    words: str
    """The shopper's own words."""
    soft: bool = False
    """A preference that ranks products, not a filter (``SOFT_ATTRIBUTES``)."""


@dataclass(frozen=True)
class NamedProduct:
    id: int
    name: str
    words: str


@dataclass(frozen=True)
class Interpretation:
    text: str
    """The request without its price phrases: what dense and lexical search rank by."""
    residual: str = ""
    """The words nothing was read from (left to the ranking alone)."""
    subject: tuple[str, ...] = ()
    """The residual's words that name what some products show or are, as their names
    say it ("birds" for the Carved Wooden Bird Ornament): a request with one asks for
    something in particular even when it gives no type, category or attribute value."""
    category: str | None = None
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Filters: only products with one of the values (per name) match."""
    preferences: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Soft preferences (``SOFT_ATTRIBUTES``): products with them rank higher."""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    product: NamedProduct | None = None
    understood: tuple[Understood, ...] = ()
    currency: str = "EUR"

    @property
    def summary(self) -> str:
        """What was applied, as the bot can repeat it: "blue · ceramic · mug · up to 60.00 EUR"."""
        return " · ".join(u.value for u in self.understood)


@dataclass(frozen=True)
class _Sense:
    name: str
    values: frozenset[str]
    """The value the phrase is, and the values it is the last words of."""
    surfaces: frozenset[tuple[str, ...]]
    count: int
    name_size: int


@dataclass
class _Word:
    surface: str
    norm: str
    start: int
    end: int
    used: bool = False


Synonym = tuple[str, str, str]
"""A merchant's synonym: the shopper's phrase, and the catalog term it means (``category``
or an attribute name, and its value as the catalog spells it)."""


class QueryInterpreter:
    """The vocabulary of one index snapshot and of the merchant's synonyms, and the reading
    of requests against them."""

    def __init__(self, index: ProductIndex, *, soft: Collection[str] = SOFT_ATTRIBUTES,
                 synonyms: Sequence[Synonym] = ()) -> None:
        self.index = index
        self.soft = frozenset(soft)
        self.synonyms = synonyms
        docs = list(index.docs.values())
        self.currency = _main_currency(docs)
        carriers: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for doc in docs:
            carriers[CATEGORY][doc.category].add(doc.id)
            for variant in doc.variants:
                for name, value in variant.attributes.items():
                    if name not in UNREAD_ATTRIBUTES:
                        carriers[name][value].add(doc.id)
        self._value_of: dict[str, dict[tuple[str, ...], str]] = defaultdict(dict)
        self._senses: dict[tuple[str, ...], list[_Sense]] = {}
        self.terms = {name: frozenset(values) for name, values in carriers.items()}
        """The catalog's terms: every value of each attribute read (and ``category``)."""
        self._build_phrases(carriers)
        self._catalog_phrases = {p for values in self._value_of.values() for p in values}
        self._meant: dict[tuple[str, tuple[str, ...]], str] = {}
        self._add_synonyms(carriers)
        self.longest = max((len(p) for p in self._senses), default=0)
        self.generic = {w for phrase in self._senses for w in phrase} | set(STOPWORDS)
        self.names = ProductNames(docs, read=phrase_of, generic=self.generic)
        self.subjects = self.names.distinctive - {normal(w) for w in ASKING_WORDS}
        """Words that make a request's subject (``Interpretation.subject``)."""
        self.known = set(index.lexical.postings) | self.generic | set(self.names.named_by)
        self._near: dict[str, set[str]] = defaultdict(set)
        for word in {w for p in self._senses for w in p} | set(self.names.named_by):
            if len(word) >= FUZZY_MIN_LENGTH - 1 and word.isalpha():
                for variant in _deletes(word):
                    self._near[variant].add(word)

    def _build_phrases(self, carriers: dict[str, dict[str, set[int]]]) -> None:
        grouped: dict[tuple[tuple[str, ...], str], list[tuple[str, bool]]] = defaultdict(list)
        for name, values in carriers.items():
            for value in values:
                words = WORD_RE.findall(_clean(value))
                phrase = tuple(normal(w) for w in words)
                if not phrase or not _sayable(words, value):
                    continue
                self._value_of[name][phrase] = value
                for k in range(len(phrase) if name != CATEGORY else 1):
                    grouped[(phrase[k:], name)].append((value, k == 0))
        for (phrase, name), found in grouped.items():
            if not any(full for _, full in found):
                continue  # only the last words of values ("book" of "guest book"): no value
            values = frozenset(v for v, _ in found)
            products = set().union(*(carriers[name][v] for v in values))
            surfaces = frozenset(tuple(_surface(w) for w in WORD_RE.findall(_clean(v)))
                                 for v, full in found if full)
            self._senses.setdefault(phrase, []).append(_Sense(
                name=name, values=values, surfaces=surfaces, count=len(products),
                name_size=sum(len(c) for c in carriers[name].values())))

    def _add_synonyms(self, carriers: dict[str, dict[str, set[int]]]) -> None:
        for text, name, value in self.synonyms:
            phrase = phrase_of(text)
            if not phrase or value not in carriers.get(name, {}) or self.is_term(text):
                continue  # the term left the catalog, or the catalog took the phrase
            own = next((s for s in self._senses.get(phrase_of(value), []) if s.name == name),
                       None)
            values = own.values if own is not None else frozenset({value})
            self._meant[(name, phrase)] = value
            self._value_of[name][phrase] = value
            self._senses.setdefault(phrase, []).append(_Sense(
                name=name, values=values | {value},
                surfaces=frozenset({tuple(_surface(w) for w in WORD_RE.findall(_clean(text)))}),
                count=len(set().union(*(carriers[name][v] for v in values | {value}))),
                name_size=sum(len(c) for c in carriers[name].values())))

    def catalog_term(self, name: str, value: str) -> str | None:
        """``value`` as the catalog spells it, if it is a ``name`` of the catalog."""
        wanted = " ".join(value.lower().split())
        return next((v for v in sorted(self.terms.get(name, ())) if v.lower() == wanted), None)

    def is_term(self, text: str) -> bool:
        """Whether ``text`` already reads as a whole catalog value (of any name)."""
        return phrase_of(text) in self._catalog_phrases

    def term(self, name: str, value: str) -> str:
        """The catalog term an explicit filter value means: a synonym's term, or itself."""
        return self._meant.get((name, phrase_of(value)), value)

    # --- reading ----------------------------------------------------------------------

    def interpret(self, text: str) -> Interpretation:
        """What ``text`` asks for in this catalog (see the module's docstring)."""
        text = spelled_out(text)  # "a bday pressie": a birthday present, not pressed flowers
        clean = _clean(text)[:2000]
        prices = find_prices(clean)
        words = [_Word(m.group(), self._correct(m.group()), m.start(), m.end())
                 for m in WORD_RE.finditer(clean)]
        named = self._named_product(words, prices)
        if named is not None:  # a name's words are not prices ("premium"), nor filters
            prices = [p for p in prices if p.relative is None
                      or not any(w.used and p.start < w.end and w.start < p.end for w in words)]
        for word in words:
            if any(p.start < word.end and word.start < p.end for p in prices):
                word.used = True
        understood = list(self._values(words))
        category = next((u.values[0] for u in understood if u.name == CATEGORY), None)
        understood = [u for u in understood if u.name != CATEGORY or u.values[0] == category]
        attributes: dict[str, tuple[str, ...]] = {}
        preferences: dict[str, tuple[str, ...]] = {}
        for u in understood:
            if u.name != CATEGORY:
                into = preferences if u.soft else attributes
                into[u.name] = tuple(dict.fromkeys(into.get(u.name, ()) + u.values))
        low, high, price_words = self._price_range(prices, clean, category, attributes)
        if low is not None or high is not None:
            understood.append(Understood("price", describe_price(low, high, self.currency),
                                         (), price_words))
        ranked = text if not prices else clean
        for phrase in reversed(prices):
            ranked = ranked[:phrase.start] + " " + ranked[phrase.end:]
        left = [w for w in words if not w.used and w.norm not in STOPWORDS]
        subject = tuple(dict.fromkeys(w.surface for w in left if w.norm in self.subjects))
        return Interpretation(
            text=" ".join(ranked.split()), residual=" ".join(w.surface for w in left),
            subject=subject, category=category,
            attributes=attributes, preferences=preferences, min_price=low, max_price=high,
            product=named, understood=tuple(understood), currency=self.currency)

    def _correct(self, word: str) -> str:
        """The catalog word a word the catalog does not contain was meant as."""
        norm = normal(word)
        if norm in self.known or len(word) < FUZZY_MIN_LENGTH or not word.isalpha():
            return norm
        if word.endswith("ves"):  # scarves, knives
            for singular in (word[:-3] + "f", word[:-3] + "fe"):
                if normal(singular) in self.known:
                    return normal(singular)
        limit = 2 if len(word) >= FUZZY_LONG_LENGTH else 1
        candidates = {c for v in _deletes(norm) for c in self._near.get(v, ()) if c[0] == norm[0]}
        scored = sorted((edit_distance(norm, c, limit), -len(self.names.named_by.get(c, ())), c)
                        for c in candidates)
        return scored[0][2] if scored and scored[0][0] <= limit else norm

    def _named_product(self, words: list[_Word], prices: list[PricePhrase]) -> NamedProduct | None:
        numeric = [p for p in prices if p.relative is None]
        usable = [not any(p.start < w.end and w.start < p.end for p in numeric) for w in words]
        found = self.names.find([w.norm for w in words], usable)
        if found is None:
            return None
        product, start, end = found
        for word in words[start:end]:
            word.used = True
        return NamedProduct(id=product, name=self.index.docs[product].name,
                            words=" ".join(w.surface for w in words[start:end]))

    def _values(self, words: list[_Word]) -> Iterator[Understood]:
        i = 0
        while i < len(words):
            found = None
            for length in range(min(self.longest, len(words) - i), 0, -1):
                span = words[i:i + length]
                if any(w.used for w in span):
                    continue
                senses = self._senses.get(tuple(w.norm for w in span))
                if senses:
                    found = (span, senses)
                    break
            if found is None:
                i += 1
                continue
            span, senses = found
            i += len(span)
            before = next((w for w in reversed(words[:words.index(span[0])])), None)
            if before is not None and before.norm in NEGATIONS:
                continue
            for word in span:
                word.used = True
            surface = tuple(_surface(w.surface) for w in span)
            sense = max(senses, key=lambda s: (surface in s.surfaces, s.count, s.name_size,
                                               s.name == CATEGORY))
            phrase = tuple(w.norm for w in span)
            said = self._value_of[sense.name][phrase]
            broader = (self._value_of[sense.name].get(phrase[k:]) for k in range(1, len(phrase)))
            values = [said, *sorted(sense.values - {said}), *(v for v in broader if v)]
            yield Understood(sense.name, said, tuple(dict.fromkeys(values)),
                             " ".join(w.surface for w in span), soft=sense.name in self.soft)

    def _price_range(self, prices: list[PricePhrase], text: str, category: str | None,
                     attributes: dict[str, tuple[str, ...]]
                     ) -> tuple[Decimal | None, Decimal | None, str]:
        low: Decimal | None = None
        high: Decimal | None = None
        for phrase in prices:
            if phrase.relative is not None:
                bound = self._relative_bound(phrase.relative == "cheap", category, attributes)
                phrase = PricePhrase(phrase.start, phrase.end,
                                     None if phrase.relative == "cheap" else bound,
                                     bound if phrase.relative == "cheap" else None)
            if phrase.min_price is not None:
                low = phrase.min_price if low is None else max(low, phrase.min_price)
            if phrase.max_price is not None:
                high = phrase.max_price if high is None else min(high, phrase.max_price)
        if low is not None and high is not None and low > high:
            low, high = prices[-1].min_price, prices[-1].max_price  # the last word wins
        return low, high, " ".join(text[p.start:p.end] for p in prices)

    def _relative_bound(self, cheap: bool, category: str | None,
                        attributes: dict[str, tuple[str, ...]]) -> Decimal | None:
        columns = self.index.filter_columns
        selection = columns.select(min_price=None, max_price=None, category=category,
                                   attributes=attributes, in_stock=False, boosts={})
        if not len(selection):
            selection = columns.select(min_price=None, max_price=None, category=None,
                                       attributes={}, in_stock=False, boosts={})
        cents = sorted(columns.cents[selection.rows].tolist())
        if not cents:
            return None
        last = len(cents) - 1
        share = CHEAP_SHARE if cheap else 1 - CHEAP_SHARE
        at = int((last * share).to_integral_value())
        return (Decimal(cents[at]) / 100).quantize(CENT)


def _main_currency(docs: Sequence[ProductDoc]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for doc in docs:
        counts[doc.currency] += 1
    return max(counts, key=lambda c: counts[c]) if counts else "EUR"

