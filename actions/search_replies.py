"""What the bot says above a page of products: what it searched for, in the shop's words.

The shop reads the shopper's words against its live catalog and says what it applied
(``Interpretation.understood``); the bot repeats it, so the shopper can correct it:
"Here are blue ceramic mugs up to 60.00 EUR:" (the sentence is a domain response, the
phrase in it is built here). A product asked for by name is
announced by its name; close matches (products lacking something asked for, shown
because too few have everything) are announced as such.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from actions.clients import Interpretation, SearchHit
from actions.clients.models import Understood
from actions.common import money

NOUNS = ("type",)
_VOWEL_SOUND = ("a", "e", "i", "o", "u")


def plural(noun: str) -> str:
    """"mug" → "mugs", "box" → "boxes", "glass" → "glasses", "scarf" → "scarves"; last
    word only."""
    head, _, word = noun.rpartition(" ")
    if (word.endswith("s") and not word.endswith(("ss", "us"))) or not word.isalpha():
        plural_word = word  # "earrings", "ceramics": said as they are
    elif word.endswith(("s", "x", "z", "ch", "sh")):
        plural_word = word + "es"
    elif word.endswith("y") and word[-2:-1] not in _VOWEL_SOUND:
        plural_word = word[:-1] + "ies"
    elif word.endswith("fe"):
        plural_word = word[:-2] + "ves"
    elif word.endswith("f") and not word.endswith("ff"):
        plural_word = word[:-1] + "ves"
    else:
        plural_word = word + "s"
    return f"{head} {plural_word}".strip()


def price_words(low: Decimal | None, high: Decimal | None, currency: str) -> str:
    if low is not None and high is not None:
        return f"between {money(low, currency)} and {money(high, currency)}"
    if high is not None:
        return f"up to {money(high, currency)}"
    if low is not None:
        return f"from {money(low, currency)}"
    return ""


_WORDS = re.compile(r"[a-z0-9]+")


def described(reading: Interpretation | None, *, many: bool, low: Decimal | None = None,
              high: Decimal | None = None, given: dict[str, str] | None = None,
              subject: Sequence[str] = ()) -> str:
    """"blue ceramic mugs up to 60.00 EUR", "posters, the vintage ones first", "pieces,
    the birthday ones ranked higher" (ranked after what the request says it is about) — or ""
    when nothing was read. ``low``/``high`` are the price bounds applied (given or read),
    ``given`` the attribute filters given explicitly (a refinement's "in green"),
    ``subject`` the words the ranking put first when no kind of piece was read
    ("pieces, those closest to "birds" first")."""
    reading = reading or Interpretation()
    modifiers: dict[str, list[str]] = {}
    nouns: list[str] = []
    soft: list[str] = []
    higher: list[str] = []
    ranked_by = set(_WORDS.findall(reading.ranked_by.lower()))
    said_given = [Understood(name=k, value=v.split(",")[0]) for k, v in (given or {}).items()]
    for said in [*reading.understood, *said_given]:
        if said.name == "price":
            continue
        if said.soft and ranked_by and said.words and not set(
                _WORDS.findall(said.words.lower())) <= ranked_by:
            higher.append(said.value)  # ranked by its boost only, after what it is about
        elif said.soft:
            soft.append(said.value)
        elif said.name in NOUNS:
            nouns.append(said.value)
        else:
            modifiers.setdefault(said.name, []).append(said.value)
    category = modifiers.pop("category", None)
    if nouns or category:  # "earrings", not "earrings, those closest to "ears" first"
        subject = ()
    if not nouns and category:  # "candles", "leather pieces" (not "leathers", "glasses")
        nouns = [c if plural(c) == c else f"{c} piece" for c in category]
        category = None
    if not (modifiers or nouns or soft or higher or category or subject) and low is None \
            and high is None:
        return ""
    words = [*(category or []), *(" or ".join(v) for v in modifiers.values())]
    noun = " and ".join(nouns) or "piece"
    phrase = " ".join([*words, plural(noun) if many else noun])
    price = price_words(low, high, reading.currency)
    if price:
        phrase += f" {price}"
    first = [f"the {' and '.join(soft)} ones"] if soft else []
    if subject:
        first.append(f'those closest to "{" ".join(subject)}"')
    if first:
        phrase += f", {' and '.join(first)} first"
    if higher:
        phrase += f", the {' and '.join(higher)} ones ranked higher"
    return phrase


def _a(phrase: str) -> str:
    return ("an " if phrase[:1] in _VOWEL_SOUND else "a ") + phrase


Said = tuple[str, dict[str, str]]
"""A response of the domain and its variables."""


def closest(lacking: list[str]) -> Said:
    return "utter_found_closest", {"lacking": " or ".join(lacking)}


def intro(hits: list[SearchHit], reading: Interpretation | None, *, low: Decimal | None,
          high: Decimal | None) -> Said:
    """The sentence above the cards of a new search."""
    first = hits[0]
    if first.matched.named:
        return ("utter_found_named_and_others" if len(hits) > 1 else "utter_found_named",
                {"name": first.name})
    full = [h for h in hits if not h.matched.unmet]
    if not full:
        return closest(first.matched.unmet)
    subject = reading.subject if reading else ()
    phrase = described(reading, many=True, low=low, high=high, subject=subject)
    one = described(reading, many=False, low=low, high=high, subject=subject)
    if not phrase:
        return ("utter_search_results" if len(hits) > 1 else "utter_search_result"), {}
    close = len(full) < len(hits)
    if len(full) > 1 or one == phrase:  # "Here are silver earrings", even for one pair
        return ("utter_found_many_and_close" if close else "utter_found_many",
                {"phrase": phrase})
    return ("utter_found_one_and_close" if close else "utter_found_one", {"phrase": _a(one)})
