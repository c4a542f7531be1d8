"""Checks of a rule file against the products it applies to, before it is stored.

A file is checked on its own when it parses (``rules.py``). What it means depends on the
other files that apply with it: a product's own rules may use options of its category's,
and a category's options may be overridden per product. So before a file is stored, every
product it applies to is merged as it will be (the file replacing the stored one of its
scope, with any other files being loaded at the same time) and checked: conditions name
options that exist, nothing depends on itself, and no combination of discounts can bring
a variant's price to zero or below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from commerce_core.customization.engine import applicable_options, check_value, price_delta
from commerce_core.customization.problems import InvalidRules, RuleProblem
from commerce_core.customization.repository import RuleRepository
from commerce_core.customization.rules import (
    BooleanOption,
    ChoiceOption,
    Option,
    RuleFile,
    TextOption,
    parse_rule_file,
    token,
)
from commerce_core.models import Product

MAX_PROBLEMS = 20
Scope = tuple[str, str]


def describe(scope: Scope) -> str:
    kind, value = scope
    return f"category {value}" if kind == "category" else f"SKU {value}"


def merge(files: Iterable[tuple[Scope, RuleFile]]) -> tuple[list[Option], int, dict[str, Scope]]:
    """(options, base_days, scope of each option) of the files that apply to one product.

    The category's file comes first; a product's own files override its options by name
    and its ``base_days``.
    """
    options: dict[str, Option] = {}
    origin: dict[str, Scope] = {}
    base_days = 1
    for scope, rule_file in sorted(files, key=lambda f: (f[0][0] != "category", f[0][1])):
        for option in rule_file.options:
            options[option.name] = option
            origin[option.name] = scope
        if rule_file.base_days is not None:
            base_days = rule_file.base_days
    return list(options.values()), base_days, origin


def option_problems(options: Sequence[Option], *,
                    origin: Mapping[str, str] | None = None) -> list[RuleProblem]:
    """What is wrong between options that apply together (a product's merged options).

    A condition must name an option among them, with values that option can take, and no
    option may depend on itself, directly or through others. ``origin`` tells, per option
    name, where it comes from when that is not the file being checked.
    """
    by_name = {o.name: o for o in options}
    found: list[RuleProblem] = []

    def report(option: Option, field: str, message: str) -> None:
        where = (origin or {}).get(option.name)
        found.append(RuleProblem(option.name, field,
                                 f"{message} (in the rules of {where})" if where else message))

    for option in options:
        for key in ("only_when", "not_when"):
            for condition in getattr(option, key):
                if condition.option is None:
                    continue
                other = by_name.get(condition.option)
                if condition.option == option.name:
                    report(option, key, "an option cannot depend on itself")
                elif other is None:
                    report(option, key, f"there is no option {condition.option!r} for it to "
                                        "depend on")
                elif isinstance(other, BooleanOption) and not all(
                        isinstance(v, bool) for v in condition.values):
                    report(option, key, f"{condition.option!r} is ticked or not: use true or "
                                        "false in 'in'")
                elif isinstance(other, ChoiceOption):
                    allowed = {token(v) for v in other.values}
                    unknown = [v for v in condition.values if token(v) not in allowed]
                    if unknown:
                        report(option, key, f"{unknown[0]!r} is not one of the values of "
                                            f"{condition.option!r}")
                elif isinstance(other, TextOption):
                    problem = _unwritable(other, condition.values)
                    if problem:
                        report(option, key, problem)
    cycle = _cycle(options, by_name)
    if cycle:
        report(by_name[cycle[0]], "only_when/not_when",
               "options depend on each other in a cycle: " + " -> ".join(cycle))
    return found


def _unwritable(option: TextOption, values: Sequence[Any]) -> str | None:
    """Why a condition on the text ``option`` could never hold with one of ``values``
    (true or false, or a text the option refuses), if it could not."""
    for value in values:
        if isinstance(value, bool):
            return (f"{option.name!r} is a text: write the words it must be, not "
                    f"{str(value).lower()}")
        _, refused = check_value(option, str(value))
        if refused:
            return (f"{str(value)!r} can never be written in {option.name!r}: "
                    f"{refused[0].message}")
    return None


def _cycle(options: Sequence[Option], by_name: Mapping[str, Option]) -> list[str] | None:
    """A dependency cycle among the options (names, first repeated at the end), if any."""
    def depends_on(option: Option) -> list[str]:
        return [c.option for c in option.conditions()
                if c.option in by_name and c.option != option.name]

    done: set[str] = set()
    for option in options:
        path, pending = [option.name], [iter(depends_on(option))]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                done.add(path.pop())
                pending.pop()
            elif nxt in path:
                return [*path[path.index(nxt):], nxt]
            elif nxt not in done:
                path.append(nxt)
                pending.append(iter(depends_on(by_name[nxt])))
    return None


def _stored(session: Session) -> dict[Scope, RuleFile]:
    """The stored rule files that still parse (those that do not are refused at quote time
    and replaced by their merchant; they must not block other files)."""
    parsed = {}
    for rule_set in RuleRepository(session).all_rule_sets():
        try:
            parsed[(rule_set.scope_kind, rule_set.scope_value)] = parse_rule_file(rule_set.spec)
        except InvalidRules:
            continue
    return parsed


def _files_of(product: Product, files: Mapping[Scope, RuleFile | None]
              ) -> list[tuple[Scope, RuleFile]]:
    scopes = [("category", product.category), *(("sku", v.sku) for v in product.variants)]
    return [(s, f) for s in scopes if (f := files.get(s)) is not None]


def _possible_values(option: Option) -> list[Any]:
    if isinstance(option, ChoiceOption):
        return list(option.values)
    return [True] if isinstance(option, BooleanOption) else ["text"]


def _price_problem(product: Product, options: list[Option], origin: Mapping[str, str]
                   ) -> RuleProblem | None:
    """Whether the discounts offered on a variant of ``product`` could, chosen together,
    bring its price to zero or below (conditions between options are not followed: the
    check is on the safe side)."""
    for variant in product.variants:
        price = Decimal(variant.price)
        offered = applicable_options(options=options,
                                     attributes={**product.attributes, **variant.attributes})
        discounts = [(o, d) for o in offered
                     if (d := min(price_delta(o, v, price) for v in _possible_values(o))) < 0]
        lowest = price + sum((d for _, d in discounts), Decimal(0))
        if lowest > 0:
            continue
        worst = min(discounts, key=lambda pair: pair[1])[0]
        names = ", ".join(repr(o.name) for o, _ in discounts)
        currency = variant.currency
        where = f" (in the rules of {origin[worst.name]})" if worst.name in origin else ""
        return RuleProblem(worst.name, "price_delta",
                           f"with {names} chosen, {variant.sku} ({price} {currency}) would "
                           f"cost {lowest} {currency}; a price must stay above zero{where}")
    return None


def scope_problems(*, session: Session, pending: Mapping[Scope, RuleFile | None]
                   ) -> dict[Scope, list[RuleProblem]]:
    """The problems of each pending change (a file to store, or None: a file to delete)
    with every product it applies to, merged with the stored files and the other pending
    changes. Scopes without problems are left out."""
    files: dict[Scope, RuleFile | None] = {**_stored(session), **pending}
    repo = RuleRepository(session)
    found: dict[Scope, list[RuleProblem]] = {}
    for scope, rule_file in pending.items():
        problems: dict[tuple[str, str, str], RuleProblem] = {}
        if rule_file is not None and scope[0] == "category":
            for problem in option_problems(rule_file.options):
                problems.setdefault((problem.option, problem.field, problem.message), problem)
        products = repo.products_in_scope(scope_kind=scope[0], scope_value=scope[1])
        if rule_file is not None and scope[0] == "sku" and not products:
            for problem in option_problems(rule_file.options):
                problems.setdefault((problem.option, problem.field, problem.message), problem)
        priced: set[str] = set()
        for product in products:
            options, _, origin = merge(_files_of(product, files))
            elsewhere = {name: describe(s) for name, s in origin.items() if s != scope}
            for problem in option_problems(options, origin=elsewhere):
                problems.setdefault((problem.option, problem.field, problem.message), problem)
            money = _price_problem(product, options, elsewhere)
            if money is not None and money.option not in priced:
                priced.add(money.option)
                problems.setdefault((money.option, money.field, money.message), money)
            if len(problems) >= MAX_PROBLEMS:
                break
        if problems:
            found[scope] = list(problems.values())[:MAX_PROBLEMS]
    return found
