"""Price phrases in a shopper's words → Decimal bounds in the shop's currency.

"under 60", "below €60", "less than 60 euros", "max 60", "up to 60", "no more than 60"
set a ceiling; "over 20", "above 20", "more than 20", "at least 20", "from 20" a floor;
"between 20 and 40", "from 20 to 40", "20-40 €" both; "around 50" (about, roughly, …)
the range from 80 % to 120 % of it; an amount written with a currency and nothing else
("a 30 euro mug") a ceiling. "cheap" (inexpensive, affordable, not too expensive) and
"expensive" (luxury, premium, high-end) name no amount: the interpreter turns them into
bounds from the prices of the products that match the rest of the request.

Amounts are read as the shop's currency whatever symbol is typed (no conversion), to
the cent: "1,200" and "1.200" are twelve hundred, "12,5" is twelve and a half. A number
followed by a unit ("30 cm", "350 ml", "50x70") is a size, never a price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

MAX_AMOUNT = Decimal("1000000")
AROUND_SHARE = Decimal("0.2")
CENT = Decimal("0.01")

_CUR = r"(?:€|eur\b|euros?\b|\$|usd\b|dollars?\b|£|gbp\b|pounds?\b|quid\b|bucks\b)"
_NUM = r"(\d{1,7}(?:[.,]\d{1,3})?)(?!\d)"
_UNIT = r"(?!\s*(?:[.,]\d|cm\b|mm\b|ml\b|cl\b|l\b|g\b|kg\b|oz\b|x\s*\d|x\b|%|ct\b|pieces?\b|" \
        r"pcs\b|inch|m\b))"
_AMOUNT = rf"(?:{_CUR}\s*)?{_NUM}(?:\s*{_CUR})?{_UNIT}"
_AMOUNT_CUR = rf"(?:{_CUR}\s*{_NUM}|{_NUM}\s*{_CUR})"
_APPROX = r"(?:(?:about|around|roughly|approximately|approx\.?|circa)\s+)?"
_BETWEEN = re.compile(rf"\b(?:between|from)\s+{_AMOUNT}\s*(?:and|to|-|–)\s*{_AMOUNT}")
_RANGE = re.compile(rf"(?<![\w.,]){_AMOUNT_CUR}\s*(?:-|–|to)\s*{_AMOUNT}"
                    rf"|(?<![\w.,]){_NUM}\s*(?:-|–|to)\s*{_AMOUNT_CUR}")
_MAX = re.compile(rf"(?:\b(?:under|below|less than|max(?:imum)?|up to|no more than|"
                  rf"not more than|cheaper than|within|at most|no higher than|"
                  rf"budget(?: is| of)?)\s+|<\s*){_APPROX}{_AMOUNT}")
_MIN = re.compile(rf"(?:(?<!no )(?<!not )\b(?:over|above|more than|at least|min(?:imum)?|"
                  rf"from|starting at|upwards of)\s+|>\s*){_APPROX}{_AMOUNT}")
_AROUND = re.compile(rf"\b(?:about|around|roughly|approximately|approx\.?|circa|near|"
                     rf"close to)\s+{_AMOUNT}")
_BARE = re.compile(rf"(?<![\w.,]){_AMOUNT_CUR}{_UNIT}")
_CHEAP = re.compile(r"\b(?:not (?:too |very |so )?(?:expensive|pricey|dear)|cheap|inexpensive|"
                    r"affordable|low[- ]cost|on a (?:tight |small )?budget|bargain)\b")
_PRICEY = re.compile(r"\b(?:expensive|pricey|luxury|luxurious|premium|high[- ]end|upmarket|"
                     r"splurge)\b")
Relative = Literal["cheap", "pricey"]


@dataclass(frozen=True)
class PricePhrase:
    """One phrase of the text that speaks of price, and the bounds it sets."""

    start: int
    end: int
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    relative: Relative | None = None
    """"cheap" or "pricey": bounds that depend on the catalog, set by the interpreter."""


def parse_amount(text: str) -> Decimal:
    """"60" → 60, "12,5" → 12.5, "1,200" and "1.200" → 1200, quantised to the cent."""
    head, sep, tail = text.replace(",", ".").rpartition(".")
    thousands = sep and len(tail) == 3
    text = head.replace(".", "") + tail if thousands else text.replace(",", ".")
    return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)


def _amounts(match: re.Match[str]) -> list[Decimal]:
    return [parse_amount(g) for g in match.groups() if g is not None]


def _overlaps(found: list[PricePhrase], start: int, end: int) -> bool:
    return any(start < p.end and p.start < end for p in found)


def find_prices(text: str) -> list[PricePhrase]:
    """Every price phrase of ``text`` (lower-cased by the caller), in reading order.

    An amount above ``MAX_AMOUNT`` makes its phrase unreadable: it is not a price
    anyone shops with, and it is left to the words.
    """
    found: list[PricePhrase] = []

    def add(match: re.Match[str], phrase: PricePhrase) -> None:
        if _overlaps(found, match.start(), match.end()):
            return
        if any(a is not None and a > MAX_AMOUNT for a in (phrase.min_price, phrase.max_price)):
            return
        found.append(phrase)

    for pattern in (_BETWEEN, _RANGE):
        for match in pattern.finditer(text):
            low, high = sorted(_amounts(match))
            add(match, PricePhrase(match.start(), match.end(), low, high))
    for match in _MAX.finditer(text):
        add(match, PricePhrase(match.start(), match.end(), max_price=_amounts(match)[0]))
    for match in _MIN.finditer(text):
        add(match, PricePhrase(match.start(), match.end(), min_price=_amounts(match)[0]))
    for match in _AROUND.finditer(text):
        amount = _amounts(match)[0]
        add(match, PricePhrase(
            match.start(), match.end(),
            (amount * (1 - AROUND_SHARE)).quantize(CENT, rounding=ROUND_HALF_UP),
            (amount * (1 + AROUND_SHARE)).quantize(CENT, rounding=ROUND_HALF_UP)))
    for match in _BARE.finditer(text):
        add(match, PricePhrase(match.start(), match.end(), max_price=_amounts(match)[0]))
    for pattern, relative in ((_CHEAP, "cheap"), (_PRICEY, "pricey")):
        for match in pattern.finditer(text):
            add(match, PricePhrase(match.start(), match.end(), relative=relative))
    return sorted(found, key=lambda p: p.start)


def describe_price(min_price: Decimal | None, max_price: Decimal | None, currency: str) -> str:
    """"up to 60.00 EUR", "from 20.00 EUR", "between 20.00 and 40.00 EUR", or ""."""
    if min_price is not None and max_price is not None:
        return f"between {min_price:.2f} and {max_price:.2f} {currency}"
    if max_price is not None:
        return f"up to {max_price:.2f} {currency}"
    if min_price is not None:
        return f"from {min_price:.2f} {currency}"
    return ""
