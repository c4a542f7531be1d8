"""The rules that apply to a product (its category's, overridden by its own), quotes with
them, and storing a merchant's rules once they are checked."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.customization.checks import Scope, describe, merge, scope_problems
from commerce_core.customization.engine import (
    Quote,
    Step,
    applicable_options,
    check_step,
    evaluate,
)
from commerce_core.customization.problems import InvalidRules
from commerce_core.customization.repository import RuleRepository
from commerce_core.customization.rules import Option, RuleFile, parse_rule_file
from commerce_core.errors import CommerceError
from commerce_core.models import CustomizationRuleSet, Product, Variant
from commerce_core.money import ensure_chargeable

log = logging.getLogger(__name__)


class CustomizationUnavailable(CommerceError):
    """The stored rules of a product no longer parse (written before they were checked,
    or by hand): the product cannot be quoted until the merchant corrects them."""

    code = "customization_unavailable"
    http_status = 409


@dataclass(frozen=True)
class ProductRules:
    options: list[Option]
    base_days: int


def product_rules(*, session: Session, product: Product) -> ProductRules:
    """The options and base making days of a product.

    Raises:
        CustomizationUnavailable: a rule file of the product no longer parses (logged).
    """
    rule_sets = CatalogRepository(session).rule_sets_for(
        category=product.category, skus=[v.sku for v in product.variants])
    files: list[tuple[Scope, RuleFile]] = []
    for rule_set in rule_sets:
        scope = (rule_set.scope_kind, rule_set.scope_value)
        try:
            files.append((scope, parse_rule_file(rule_set.spec)))
        except InvalidRules as exc:
            log.error("stored customisation rules of %s do not parse; product %s (%s) cannot "
                      "be quoted until they are corrected: %s", describe(scope), product.id,
                      product.name, "; ".join(map(str, exc.problems)))
            raise CustomizationUnavailable(
                f"{product.name} cannot be personalised or ordered at the moment: the shop "
                "is correcting its options. Please try again later or ask the shop.",
                details={"product_id": product.id}) from None
    options, base_days, _ = merge(files)
    return ProductRules(options=options, base_days=base_days)


def quote_variant(*, session: Session, product: Product, variant: Variant,
                  chosen: dict[str, Any], today: date) -> Quote:
    """Price and ready-by date of one unit of ``variant`` with the shopper's choices.

    Raises:
        InvalidCustomization: with every violated rule, in the rule's words.
        CustomizationUnavailable: the product's stored rules no longer parse.
        AmountNotPositive, AmountTooLarge: the rules price it at zero or less, or above
            the shop's maximum — never sold like that, whatever the rules say.
    """
    rules = product_rules(session=session, product=product)
    quote = evaluate(options=rules.options,
                     attributes={**product.attributes, **variant.attributes}, chosen=chosen,
                     base_price=Decimal(variant.price), currency=variant.currency, today=today,
                     base_days=rules.base_days)
    ensure_chargeable(quote.unit_price, what=f"{product.name} with these options",
                      currency=quote.currency,
                      advice="Please choose other options, or ask the shop.")
    return quote


def next_step(*, session: Session, product: Product, variant: Variant, variant_chosen: bool,
              chosen: dict[str, Any], asked: Collection[str], today: date) -> Step:
    """Check the choices a shopper made so far and find the next option to ask.

    The options offered are those of the product's attributes, and of ``variant``'s when
    the shopper chose it (without, as the product page lists them); the choices are
    checked as a quote of ``variant`` checks them, except that a required option is
    missing only once it was asked.

    Raises:
        CustomizationUnavailable: the product's stored rules no longer parse.
        AmountNotPositive, AmountTooLarge: the choices so far price it out of range.
    """
    rules = product_rules(session=session, product=product)
    offered = applicable_options(options=rules.options, attributes={
        **product.attributes, **(variant.attributes if variant_chosen else {})})
    step = check_step(
        offered=offered, options=rules.options,
        attributes={**product.attributes, **variant.attributes}, chosen=chosen, asked=asked,
        base_price=Decimal(variant.price), currency=variant.currency, today=today,
        base_days=rules.base_days)
    if step.quote is not None:
        ensure_chargeable(step.quote.unit_price, what=f"{product.name} with these options",
                          currency=step.quote.currency,
                          advice="Please choose other options, or ask the shop.")
    return step


def check_rules(*, session: Session, pending: dict[Scope, RuleFile | None]) -> None:
    """Refuse changes to rule files that would not work with the products they apply to.

    Raises:
        InvalidRules: the problems of the first scope that has any.
    """
    problems = scope_problems(session=session, pending=pending)
    if problems:
        raise InvalidRules(next(iter(problems.values())))


def save_rules(*, session: Session, raw: Any, source: str) -> CustomizationRuleSet:
    """Parse and check a rule file, then create or replace its scope's rule set, stored in
    its normalised form. Nothing is stored when anything is wrong. The caller commits.

    Raises:
        InvalidRules: every problem found, each naming its option.
    """
    rule_file = parse_rule_file(raw)
    scope = (rule_file.scope.kind, rule_file.scope.value)
    check_rules(session=session, pending={scope: rule_file})
    return store(session=session, rule_file=rule_file, source=source)


def store(*, session: Session, rule_file: RuleFile, source: str) -> CustomizationRuleSet:
    """Create or replace the rule set of a checked file's scope. The caller commits."""
    kind, value = rule_file.scope.kind, rule_file.scope.value
    repo = RuleRepository(session)
    rule_set = repo.rule_set(scope_kind=kind, scope_value=value)
    if rule_set is None:
        rule_set = CustomizationRuleSet(scope_kind=kind, scope_value=value,
                                        spec=rule_file.dump(), source=source)
        repo.add(rule_set)
    rule_set.spec, rule_set.source = rule_file.dump(), source
    session.flush()
    return rule_set


def delete_rules(*, session: Session, scope_kind: str, scope_value: str) -> None:
    """Delete a scope's rule set, unless product rules still depend on its options.

    Raises:
        InvalidRules: options of other files would name options that no longer exist.
    """
    check_rules(session=session, pending={(scope_kind, scope_value): None})
    RuleRepository(session).delete(scope_kind=scope_kind, scope_value=scope_value)
