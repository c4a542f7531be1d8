"""What the bot says above a page of products: what it searched for, in the shop's words.

The shop reads the shopper's words against its live catalog and says what it applied
(``Interpretation.understood``); the bot repeats it, so the shopper can correct it:
"Here are blue ceramic mugs up to 60.00 EUR:". A product asked for by name is
announced by its name; close matches (products lacking something asked for, shown
because too few have everything) are announced as such.
"""

from __future__ import annotations

from decimal import Decimal

from actions.clients import Interpretation, SearchHit
from actions.clients.models import Understood
from actions.common import money

NOUNS = ("type",)
_VOWEL_SOUND = ("a", "e", "i", "o", "u")


def plural(noun: str) -> str:
    """"mug" → "mugs", "box" → "boxes", "scarf" → "scarves"; last word only."""
    head, _, word = noun.rpartition(" ")
    if word.endswith("s") or not word.isalpha():
        plural_word = word
    elif word.endswith(("x", "z", "ch", "sh")):
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


def described(reading: Interpretation | None, *, many: bool, low: Decimal | None = None,
              high: Decimal | None = None, given: dict[str, str] | None = None) -> str:
    """"blue ceramic mugs up to 60.00 EUR", "posters, the vintage ones first" — or ""
    when nothing was read. ``low``/``high`` are the price bounds applied (given or read),
    ``given`` the attribute filters given explicitly (a refinement's "in green")."""
    reading = reading or Interpretation()
    modifiers: dict[str, list[str]] = {}
    nouns: list[str] = []
    soft: list[str] = []
    said_given = [Understood(name=k, value=v.split(",")[0]) for k, v in (given or {}).items()]
    for said in [*reading.understood, *said_given]:
        if said.name == "price":
            continue
        if said.soft:
            soft.append(said.value)
        elif said.name in NOUNS:
            nouns.append(said.value)
        else:
            modifiers.setdefault(said.name, []).append(said.value)
    category = modifiers.pop("category", None)
    if not nouns and category:
        nouns, category = category, None
    if not (modifiers or nouns or soft or category) and low is None and high is None:
        return ""
    words = [*(category or []), *(" or ".join(v) for v in modifiers.values())]
    noun = " and ".join(nouns) or "piece"
    phrase = " ".join([*words, plural(noun) if many else noun])
    price = price_words(low, high, reading.currency)
    if price:
        phrase += f" {price}"
    if soft:
        phrase += f", the {' and '.join(soft)} ones first"
    return phrase


def _a(phrase: str) -> str:
    return ("an " if phrase[:1] in _VOWEL_SOUND else "a ") + phrase


def intro(hits: list[SearchHit], reading: Interpretation | None, *, low: Decimal | None,
          high: Decimal | None) -> str:
    """The sentence above the cards of a new search."""
    first = hits[0]
    if first.matched.named:
        return (f"Here is {first.name}, and a few others you may like:" if len(hits) > 1
                else f"Here is {first.name}:")
    full = [h for h in hits if not h.matched.unmet]
    if not full:
        lacking = first.matched.unmet
        return (f"I found nothing that is also {' or '.join(lacking)}, so here are the "
                "closest matches:")
    phrase = described(reading, many=len(full) > 1, low=low, high=high)
    if not phrase:
        return "Here is what I found:" if len(hits) > 1 else "I found this one:"
    more = ", and some close matches" if len(full) < len(hits) else ""
    return f"Here are {phrase}{more}:" if len(full) > 1 else f"Here is {_a(phrase)}{more}:"
