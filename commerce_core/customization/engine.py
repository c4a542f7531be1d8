"""The customisation rule engine: check a shopper's choices against the merchant's rules.

Pure logic over the typed options of the rule files (see ``rules.py``, which checked
them); the caller merges category and product files and passes the merged list.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from commerce_core.customization.rules import (
    MAX_TEXT_CHARS,
    BooleanOption,
    ChoiceOption,
    Condition,
    Option,
    token,
)
from commerce_core.errors import CommerceError
from commerce_core.money import quantize_price

MAX_CHOSEN_OPTIONS = 20
_CONTROL_CATEGORIES = {"Cc", "Cf", "Cs"}
_BOOLEAN_WORDS = {"true": True, "yes": True, "false": False, "no": False}


@dataclass(frozen=True)
class Violation:
    option: str
    code: str
    message: str


@dataclass(frozen=True)
class QuoteLine:
    option: str
    label: str
    value: str | bool
    price_delta: Decimal
    extra_days: int


@dataclass(frozen=True)
class Quote:
    base_price: Decimal
    unit_price: Decimal
    currency: str
    making_days: int
    ready_by: date
    lines: tuple[QuoteLine, ...]


class InvalidCustomization(CommerceError):
    code = "invalid_customization"
    http_status = 422

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(
            " ".join(v.message for v in violations),
            details=[{"option": v.option, "code": v.code, "message": v.message}
                     for v in violations],
        )
        self.violations = violations


def _holds(condition: Condition, *, attributes: Mapping[str, str], values: Mapping[str, Any],
           kinds: Mapping[str, str]) -> bool:
    if condition.attribute is not None:
        actual = attributes.get(condition.attribute)
    else:
        actual = values.get(str(condition.option))
        if actual is None and kinds.get(str(condition.option)) == "boolean":
            actual = False  # an unticked box is "false" for the options that depend on it
    return actual is not None and token(actual) in condition.tokens


def _allowed(option: Option, *, attributes: Mapping[str, str], values: Mapping[str, Any],
             kinds: Mapping[str, str], on: Literal["attributes", "options"] | None = None
             ) -> bool:
    """Whether the option's only_when/not_when hold (only those on attributes or only
    those on other options, if asked)."""
    def check(conditions: list[Condition]) -> list[bool]:
        return [_holds(c, attributes=attributes, values=values, kinds=kinds)
                for c in conditions if on is None
                or (c.attribute is not None) == (on == "attributes")]
    return all(check(option.only_when)) and not any(check(option.not_when))


def applicable_options(*, options: Sequence[Option],
                       attributes: Mapping[str, str]) -> list[Option]:
    """The options a shopper may be offered for a product with these attributes.

    Conditions on other options are not evaluated: they depend on the shopper's choices.
    """
    return [o for o in options
            if _allowed(o, attributes=attributes, values={}, kinds={}, on="attributes")]


def check_value(option: Option, raw: Any) -> tuple[Any, list[Violation]]:
    """Normalise one chosen value; ``None`` means "not chosen"."""
    name, label = option.name, option.title

    def refuse(code: str, message: str) -> tuple[None, list[Violation]]:
        return None, [Violation(name, code, message)]

    if raw is None:
        return None, []
    if isinstance(option, BooleanOption):
        if isinstance(raw, bool):
            return (True if raw else None), []
        if isinstance(raw, str) and raw.strip().casefold() in _BOOLEAN_WORDS:
            return (True if _BOOLEAN_WORDS[raw.strip().casefold()] else None), []
        return refuse("wrong_type", f"{label} is a yes-or-no choice.")
    if isinstance(option, ChoiceOption):
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            return refuse("wrong_type", f"{label} must be one of the listed choices.")
        for allowed in option.values:
            if token(allowed) == token(raw):
                return allowed, []
        return refuse("not_allowed_value", f"{label} must be one of: "
                                           f"{', '.join(option.values)}.")
    if not isinstance(raw, str):
        return refuse("wrong_type", f"{label} must be written as text.")
    max_length = option.max_length
    if len(raw) > MAX_TEXT_CHARS:
        limit = min(max_length or MAX_TEXT_CHARS, MAX_TEXT_CHARS)
        return refuse("too_long", f"{label} can be at most {limit} characters long.")
    text = unicodedata.normalize("NFC", raw.strip())  # "é" typed as e + accent is a letter
    if not text:
        return None, []
    violations = []
    if max_length is not None and len(text) > max_length:
        violations.append(Violation(name, "too_long",
                                    f"{label} can be at most {max_length} characters long."))
    if option.min_length is not None and len(text) < option.min_length:
        violations.append(Violation(
            name, "too_short", f"{label} must be at least {option.min_length} characters long."))
    has_control = any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in text)
    if has_control or not option.matches(text):  # RE2: linear in the text, whatever pattern
        message = (f"{label} can only use {option.charset}." if option.charset
                   else f"{label} contains characters we cannot use.")
        violations.append(Violation(name, "bad_characters", message))
    return (None if violations else text), violations


def price_delta(option: Option, value: Any, base_price: Decimal) -> Decimal:
    """What choosing ``value`` for ``option`` adds to (or takes off) one unit's price."""
    delta = quantize_price(option.price_delta or Decimal(0))
    if option.price_delta_percent is not None:
        delta += quantize_price(base_price * option.price_delta_percent / 100)
    if isinstance(option, ChoiceOption):
        delta += quantize_price(option.delta_of(value))
    return delta


def add_workshop_days(start: date, days: int) -> date:
    """``days`` workshop days (Monday to Friday) after ``start``; never a weekend day."""
    current, remaining = start, days
    while remaining > 0 or current.weekday() >= 5:
        current += timedelta(days=1)
        if current.weekday() < 5 and remaining > 0:
            remaining -= 1
    return current


def _checked(*, options: Sequence[Option], attributes: Mapping[str, str],
             chosen: Mapping[Any, Any], required: Callable[[Option], bool]
             ) -> tuple[dict[str, Any], list[Violation]]:
    """(the valid chosen values, every violated rule); ``required`` says which of the
    required options count as missing when they are not chosen."""
    if len(chosen) > MAX_CHOSEN_OPTIONS:
        return {}, [Violation("*", "too_long",
                              f"Please choose at most {MAX_CHOSEN_OPTIONS} options.")]
    by_name = {o.name: o for o in options}
    kinds = {o.name: o.kind for o in options}
    violations: list[Violation] = []
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for name, raw in chosen.items():
        option = by_name.get(name) if isinstance(name, str) else None
        if option is None:
            shown = str(name)[:40]
            violations.append(Violation(
                "*", "unknown_option", f"We do not offer an option called {shown!r} here."))
            continue
        value, problems = check_value(option, raw)
        violations.extend(problems)
        if problems:
            invalid.add(name)
        elif value is not None:
            values[name] = value

    refused: set[str] = set()
    for option in options:
        depends_on_invalid = any(c.option in invalid for c in option.conditions())
        if option.name not in values or depends_on_invalid:
            continue
        if not _allowed(option, attributes=attributes, values=values, kinds=kinds):
            refused.add(option.name)
            violations.append(Violation(option.name, "not_available", option.reason or
                                        f"{option.title} is not available for this product."))

    kept = {n: v for n, v in values.items() if n not in refused}
    for option in options:
        if (option.required and required(option) and option.name not in values
                and option.name not in invalid
                and _allowed(option, attributes=attributes, values=kept, kinds=kinds)):
            violations.append(Violation(option.name, "required", f"{option.title} is required."))
    return kept, violations


def _priced(*, options: Sequence[Option], values: Mapping[str, Any], base_price: Decimal,
            currency: str, today: date, base_days: int) -> Quote:
    lines = tuple(
        QuoteLine(option=o.name, label=o.title, value=values[o.name],
                  price_delta=price_delta(o, values[o.name], base_price), extra_days=o.extra_days)
        for o in options if o.name in values)
    making_days = base_days + sum(line.extra_days for line in lines)
    return Quote(
        base_price=base_price,
        unit_price=quantize_price(base_price + sum((line.price_delta for line in lines),
                                                   Decimal(0))),
        currency=currency, making_days=making_days,
        ready_by=add_workshop_days(today, making_days), lines=lines)


def evaluate(*, options: Sequence[Option], attributes: Mapping[str, str],
             chosen: Mapping[Any, Any], base_price: Decimal, currency: str, today: date,
             base_days: int = 1) -> Quote:
    """Check every chosen option and price one unit of the product with them.

    A boolean set to false, ``None``, or an empty optional text counts as not chosen. The
    options are already checked (see ``rules.py``); whether the price is one the shop can
    charge is the caller's to check.

    Raises:
        InvalidCustomization: with every violated rule, not just the first.
    """
    values, violations = _checked(options=options, attributes=attributes, chosen=chosen,
                                  required=lambda _: True)
    if violations:
        raise InvalidCustomization(violations)
    return _priced(options=options, values=values, base_price=base_price, currency=currency,
                   today=today, base_days=base_days)


def in_asking_order(options: Sequence[Option]) -> list[Option]:
    """The order options are asked in: what must be chosen first, then the file's order."""
    return sorted(options, key=lambda o: not o.required)


@dataclass(frozen=True)
class Step:
    """Where a shopper choosing options one at a time stands."""

    problems: tuple[Violation, ...]
    """What is wrong with the choices so far (a required option is missing only once it
    was asked)."""
    option: Option | None
    """The next option to ask, or None when every one that applies was asked."""
    quote: Quote | None
    """The price of the choices so far, when they have no problem."""


def check_step(*, offered: Sequence[Option], options: Sequence[Option],
              attributes: Mapping[str, str], chosen: Mapping[Any, Any],
              asked: Collection[str], base_price: Decimal, currency: str, today: date,
              base_days: int = 1) -> Step:
    """Check the choices made so far and find the next option to ask.

    ``offered`` are the options the product offers (``applicable_options``, which applied
    the conditions on attributes); the next is the first of them in asking order that was
    not asked yet and whose conditions on the earlier choices hold (an unticked box counts
    as "false"). ``options`` are all the product's options, which the choices are checked
    against as a quote checks them, with ``attributes``.
    """
    values, violations = _checked(options=options, attributes=attributes, chosen=chosen,
                                  required=lambda o: o.name in asked)
    kinds = {o.name: o.kind for o in options}
    following = next((o for o in in_asking_order(offered) if o.name not in asked
                      and _allowed(o, attributes={}, values=values, kinds=kinds, on="options")),
                     None)
    quote = None if violations else _priced(
        options=options, values=values, base_price=base_price, currency=currency,
        today=today, base_days=base_days)
    return Step(problems=tuple(violations), option=following, quote=quote)
