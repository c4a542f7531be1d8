"""What the merchant's catalog and rules say about making a product.

- **Made to order**: the product (or variant) attribute ``made_to_order`` is ``yes`` —
  the attribute the demo catalog and the candle rules already use. Those products are
  planned in the workshop; the others are sold from stock and get restock suggestions.
- **Making days per unit** (the workshop's effort): the attribute ``making_days`` (a
  number such as ``0.5``) where the merchant sets it; otherwise what the quote engine
  counts for one unit: the rules' ``base_days`` plus the ``extra_days`` of the options
  chosen (an order line's own options; for forecast units, the options shoppers chose on
  average in the order history). The rules count calendar workshop days that may include
  waiting (a glaze's extra firing), which overstates the effort of a batch: setting
  ``making_days`` says what a unit really takes.
- **Promise** for a new order: ``base_days`` plus the usual options' ``extra_days``
  workshop days, as the quote engine would promise it today.
- **Restock**: ``lead_time_days`` (attribute) or the shop's setting; ``restock: reorder``
  marks bought-in goods (made in the workshop otherwise).

Variant attributes override product attributes, as they do in quotes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from commerce_core.customization.checks import Scope, describe, merge
from commerce_core.customization.problems import InvalidRules
from commerce_core.customization.rules import Option, RuleFile, parse_rule_file, token
from commerce_core.models import CustomizationRuleSet, Product, Variant

log = logging.getLogger(__name__)
MAX_MAKING_DAYS = 365.0
MAX_LEAD_DAYS = 365
YES = {"yes", "true", "1"}


@dataclass(frozen=True)
class Making:
    """How one product is made, for planning."""

    options: dict[str, Option]
    base_days: int
    making_days: float | None
    """The merchant's ``making_days`` per unit, when set."""

    def extra_days(self, chosen: Mapping[str, Any]) -> int:
        """Extra making days of the options chosen on a line (unticked boxes, empty texts
        and options the rules no longer have add nothing)."""
        return sum(self.options[name].extra_days for name, value in chosen.items()
                   if name in self.options and value not in (None, False, ""))

    def unit_days(self, chosen: Mapping[str, Any]) -> float:
        if self.making_days is not None:
            return self.making_days
        return float(self.base_days + self.extra_days(chosen))


def attributes(product: Product, variant: Variant | None = None) -> dict[str, str]:
    return {**product.attributes, **(variant.attributes if variant is not None else {})}


def is_made_to_order(product: Product, variant: Variant | None = None) -> bool:
    return token(attributes(product, variant).get("made_to_order", "")) in YES


def _number(raw: str | None, *, limit: float, what: str, notes: list[str]) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= limit:
        notes.append(f"{what}: {raw!r} is not a number from 0 to {limit:g}; ignored")
        return None
    return value


def restock_terms(product: Product, variant: Variant, *, default_lead_days: int,
                  notes: list[str]) -> tuple[int, str]:
    """(lead time in days, "make" or "reorder") of a stocked variant."""
    attrs = attributes(product, variant)
    lead = _number(attrs.get("lead_time_days"), limit=MAX_LEAD_DAYS,
                   what=f"{variant.sku} lead_time_days", notes=notes)
    action = "reorder" if token(attrs.get("restock", "")) == "reorder" else "make"
    return (default_lead_days if lead is None else math.ceil(lead)), action


class RuleBook:
    """Every rule set of the shop, parsed once; a file that no longer parses is skipped
    (and noted), so one broken file does not stop the plan."""

    def __init__(self, rule_sets: Iterable[CustomizationRuleSet], notes: list[str]) -> None:
        self.files: dict[Scope, RuleFile] = {}
        for rule_set in rule_sets:
            scope = (rule_set.scope_kind, rule_set.scope_value)
            try:
                self.files[scope] = parse_rule_file(rule_set.spec)
            except InvalidRules:
                log.warning("planning skips the rules of %s: they no longer parse",
                            describe(scope))
                notes.append(f"the rules of {describe(scope)} no longer parse: planned as if "
                             "that file did not exist")

    def making(self, product: Product, variant: Variant | None, notes: list[str]) -> Making:
        skus: Sequence[str] = ([variant.sku] if variant is not None
                               else [v.sku for v in product.variants])
        scopes: list[Scope] = [("category", product.category)]
        scopes += [("sku", sku.upper()) for sku in skus]
        files = [(s, self.files[s]) for s in scopes if s in self.files]
        options, base_days, _ = merge(files)
        per_unit = _number(attributes(product, variant).get("making_days"),
                           limit=MAX_MAKING_DAYS,
                           what=f"{variant.sku if variant else product.name} making_days",
                           notes=notes)
        return Making(options={o.name: o for o in options}, base_days=base_days,
                      making_days=per_unit)
