"""How the shop asks a shopper for one option of a product."""

from __future__ import annotations

from commerce_core.customization.rules import BooleanOption, ChoiceOption, Option, TextOption


def _price_note(option: Option, currency: str) -> str:
    if option.price_delta_percent:
        return f"{option.price_delta_percent:+}%"
    if option.price_delta:
        return f"{option.price_delta:+} {currency}"
    return ""


def prompt(option: Option, *, currency: str) -> str:
    """The question for ``option``, with its price and making days, and for a text what
    it may hold ("Engraving (+5.00 EUR): what should it say? (up to 20 characters)")."""
    label = option.label or option.name.replace("_", " ")
    notes = [n for n in (_price_note(option, currency),
                         f"{option.extra_days} more making days" if option.extra_days else "")
             if n]
    extra = f" ({', '.join(notes)})" if notes else ""
    if isinstance(option, BooleanOption):
        return f"Would you like {label[0].lower()}{label[1:]}{extra}?"
    if isinstance(option, ChoiceOption):
        return f"{label}{extra}: which would you like?"
    rules = "; ".join(x for x in (_length_note(option), option.charset or "") if x)
    return f"{label}{extra}: what should it say?" + (f" ({rules})" if rules else "")


def _length_note(option: TextOption) -> str:
    return f"up to {option.max_length} characters" if option.max_length else ""
