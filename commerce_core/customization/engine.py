"""The customisation rule engine: check a shopper's choices against the merchant's rules.

Pure logic over the option specs of the rule files (see ``loader.py`` for their
structure); the caller merges category and product files and passes the merged list.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from commerce_core.errors import CommerceError
from commerce_core.money import quantize_price

MAX_CHOSEN_OPTIONS = 20
MAX_TEXT_CHARS = 500
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


def _label(spec: dict[str, Any]) -> str:
    return str(spec.get("label") or spec["name"])


def _token(value: Any) -> str:
    """Comparable form of a rule or shopper value: YAML booleans stay distinct from words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


def _condition_parts(spec: dict[str, Any], condition: Any) -> tuple[str, str, list[Any]]:
    """(``attribute`` or ``option``, name, values) of one only_when/not_when condition."""
    if isinstance(condition, dict) and isinstance(condition.get("in"), list):
        for kind in ("attribute", "option"):
            if isinstance(condition.get(kind), str):
                return kind, condition[kind], condition["in"]
    raise ValueError(f"option {spec['name']!r}: a condition needs 'attribute' or 'option' "
                     f"and an 'in' list, got {condition!r}")


def _conditions(spec: dict[str, Any], key: str) -> list[tuple[str, str, list[Any]]]:
    return [_condition_parts(spec, c) for c in spec.get(key) or []]


def _holds(kind: str, name: str, accepted: list[Any], *, attributes: dict[str, str],
           values: dict[str, Any], specs: dict[str, dict[str, Any]]) -> bool:
    if kind == "attribute":
        actual = attributes.get(name)
    else:
        actual = values.get(name)
        if actual is None and specs.get(name, {}).get("kind") == "boolean":
            actual = False  # an unticked box is "false" for the options that depend on it
    return actual is not None and _token(actual) in {_token(v) for v in accepted}


def _allowed(spec: dict[str, Any], *, attributes: dict[str, str], values: dict[str, Any],
             specs: dict[str, dict[str, Any]], only: str | None = None) -> bool:
    """Whether the option's only_when/not_when hold; ``only`` limits them to one kind."""
    def check(key: str) -> list[bool]:
        return [_holds(kind, name, accepted, attributes=attributes, values=values, specs=specs)
                for kind, name, accepted in _conditions(spec, key) if only in (None, kind)]
    return all(check("only_when")) and not any(check("not_when"))


def applicable_options(*, options: list[dict[str, Any]],
                       attributes: dict[str, str]) -> list[dict[str, Any]]:
    """The options a shopper may be offered for a product with these attributes.

    Conditions on other options are not evaluated: they depend on the shopper's choices.
    """
    specs = {o["name"]: o for o in options}
    return [o for o in options
            if _allowed(o, attributes=attributes, values={}, specs=specs, only="attribute")]


def _check_value(spec: dict[str, Any], raw: Any) -> tuple[Any, list[Violation]]:
    """Normalise one chosen value; ``None`` means "not chosen"."""
    name, label, kind = spec["name"], _label(spec), spec["kind"]

    def refuse(code: str, message: str) -> tuple[None, list[Violation]]:
        return None, [Violation(name, code, message)]

    if raw is None:
        return None, []
    if kind == "boolean":
        if isinstance(raw, bool):
            return (True if raw else None), []
        if isinstance(raw, str) and raw.strip().casefold() in _BOOLEAN_WORDS:
            return (True if _BOOLEAN_WORDS[raw.strip().casefold()] else None), []
        return refuse("wrong_type", f"{label} is a yes-or-no choice.")
    if kind == "choice":
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            return refuse("wrong_type", f"{label} must be one of the listed choices.")
        for allowed in spec["values"]:
            if _token(allowed) == _token(raw):
                return str(allowed), []
        choices = ", ".join(str(v) for v in spec["values"])
        return refuse("not_allowed_value", f"{label} must be one of: {choices}.")
    if not isinstance(raw, str):
        return refuse("wrong_type", f"{label} must be written as text.")
    max_length = spec.get("max_length")
    if len(raw) > MAX_TEXT_CHARS:
        limit = min(max_length or MAX_TEXT_CHARS, MAX_TEXT_CHARS)
        return refuse("too_long", f"{label} can be at most {limit} characters long.")
    text = raw.strip()
    if not text:
        return None, []
    violations = []
    if max_length is not None and len(text) > max_length:
        violations.append(Violation(name, "too_long",
                                    f"{label} can be at most {max_length} characters long."))
    if spec.get("min_length") is not None and len(text) < spec["min_length"]:
        violations.append(Violation(
            name, "too_short", f"{label} must be at least {spec['min_length']} characters long."))
    has_control = any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in text)
    if has_control or ("pattern" in spec and not re.fullmatch(spec["pattern"], text)):
        message = (f"{label} can only use {spec['charset']}." if spec.get("charset")
                   else f"{label} contains characters we cannot use.")
        violations.append(Violation(name, "bad_characters", message))
    return (None if violations else text), violations


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where} must be a whole number of days, 0 or more; got {value!r}")
    return value


def _price_delta(spec: dict[str, Any], value: Any, base_price: Decimal) -> Decimal:
    delta = quantize_price(Decimal(str(spec.get("price_delta", "0"))))
    if "price_delta_percent" in spec:
        delta += quantize_price(base_price * Decimal(str(spec["price_delta_percent"])) / 100)
    by_value = {_token(k): v for k, v in (spec.get("price_delta_by_value") or {}).items()}
    if spec["kind"] == "choice" and _token(value) in by_value:
        delta += quantize_price(Decimal(str(by_value[_token(value)])))
    return delta


def add_workshop_days(start: date, days: int) -> date:
    """``days`` workshop days (Monday to Friday) after ``start``; never a weekend day."""
    current, remaining = start, days
    while remaining > 0 or current.weekday() >= 5:
        current += timedelta(days=1)
        if current.weekday() < 5 and remaining > 0:
            remaining -= 1
    return current


def evaluate(*, options: list[dict[str, Any]], attributes: dict[str, str],
             chosen: dict[str, Any], base_price: Decimal, currency: str, today: date,
             base_days: int = 1) -> Quote:
    """Check every chosen option and price one unit of the product with them.

    A boolean set to false, ``None``, or an empty optional text counts as not chosen.

    Raises:
        InvalidCustomization: with every violated rule, not just the first.
        ValueError: the rules themselves are malformed (a bad condition or day count).
    """
    if len(chosen) > MAX_CHOSEN_OPTIONS:
        raise InvalidCustomization([Violation(
            "*", "too_long", f"Please choose at most {MAX_CHOSEN_OPTIONS} options.")])
    specs = {o["name"]: o for o in options}
    violations: list[Violation] = []
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for name, raw in chosen.items():
        spec = specs.get(name) if isinstance(name, str) else None
        if spec is None:
            shown = str(name)[:40]
            violations.append(Violation(
                "*", "unknown_option", f"We do not offer an option called {shown!r} here."))
            continue
        value, problems = _check_value(spec, raw)
        violations.extend(problems)
        if problems:
            invalid.add(name)
        elif value is not None:
            values[name] = value

    refused: set[str] = set()
    for spec in options:
        name = spec["name"]
        depends_on_invalid = any(kind == "option" and other in invalid
                                 for key in ("only_when", "not_when")
                                 for kind, other, _ in _conditions(spec, key))
        if name not in values or depends_on_invalid:
            continue
        if not _allowed(spec, attributes=attributes, values=values, specs=specs):
            refused.add(name)
            violations.append(Violation(name, "not_available", spec.get("reason") or
                                        f"{_label(spec)} is not available for this product."))

    kept = {n: v for n, v in values.items() if n not in refused}
    for spec in options:
        name = spec["name"]
        if (spec.get("required") and name not in values and name not in invalid
                and _allowed(spec, attributes=attributes, values=kept, specs=specs)):
            violations.append(Violation(name, "required", f"{_label(spec)} is required."))
    if violations:
        raise InvalidCustomization(violations)

    making_days = _days(base_days, "base_days")
    lines = []
    for spec in options:
        if spec["name"] not in values:
            continue
        extra = _days(spec.get("extra_days", 0), f"option {spec['name']!r}: extra_days")
        making_days += extra
        lines.append(QuoteLine(option=spec["name"], label=_label(spec),
                               value=values[spec["name"]],
                               price_delta=_price_delta(spec, values[spec["name"]], base_price),
                               extra_days=extra))
    return Quote(
        base_price=base_price,
        unit_price=quantize_price(base_price + sum((line.price_delta for line in lines),
                                                   Decimal(0))),
        currency=currency, making_days=making_days,
        ready_by=add_workshop_days(today, making_days), lines=tuple(lines))
