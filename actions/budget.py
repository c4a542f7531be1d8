"""Budget phrases in a shopper's message → Decimal price bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_CURRENCY = r"(?:€|eur|euros?|\$|£|dollars?|pounds?|quid|bucks)"
_AMOUNT = rf"{_CURRENCY}?\s*(\d{{1,6}}(?:[.,]\d{{1,2}})?)\s*{_CURRENCY}?"
_BETWEEN = re.compile(rf"\b(?:between|from)\s+{_AMOUNT}\s+(?:and|to|-)\s+{_AMOUNT}", re.I)
_RANGE = re.compile(rf"{_AMOUNT}\s*(?:-|–|to)\s*{_AMOUNT}", re.I)
_MAX_WORDS = r"under|below|less than|max(?:imum)?|up to|no more than|cheaper than|within"
_MAX = re.compile(rf"\b(?:{_MAX_WORDS})\s+{_AMOUNT}", re.I)
_MIN = re.compile(rf"(?<!no )\b(?:over|above|more than|at least|min(?:imum)?|from)\s+{_AMOUNT}",
                  re.I)


@dataclass(frozen=True)
class Budget:
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    def describe(self, currency: str = "EUR") -> str:
        if self.min_price is not None and self.max_price is not None:
            return f"between {self.min_price} and {self.max_price} {currency}"
        if self.max_price is not None:
            return f"up to {self.max_price} {currency}"
        if self.min_price is not None:
            return f"from {self.min_price} {currency}"
        return ""


def _dec(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def parse_budget(text: str) -> Budget:
    """Read price bounds from free text; amounts are Decimal, never float."""
    for pattern in (_BETWEEN, _RANGE):
        match = pattern.search(text)
        if match:
            low, high = sorted((_dec(match.group(1)), _dec(match.group(2))))
            return Budget(low, high)
    high_match = _MAX.search(text)
    low_match = _MIN.search(text)
    return Budget(
        min_price=_dec(low_match.group(1)) if low_match else None,
        max_price=_dec(high_match.group(1)) if high_match else None,
    )
