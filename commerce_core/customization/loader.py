"""Load the merchant's customisation rule files (YAML, one per category or product)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.models import CustomizationRuleSet

MAX_RULE_FILE_BYTES = 256 * 1024
KINDS = {"choice", "text", "boolean"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class RuleFileError(ValueError):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


def _decimal(value: Any, where: str, source: str) -> None:
    try:
        Decimal(str(value))
    except InvalidOperation:
        raise RuleFileError(source, f"{where} must be a decimal number, got {value!r}") from None


def validate_spec(spec: Any, source: str) -> tuple[str, str, dict[str, Any]]:
    """Check a rule file's structure; return (scope_kind, scope_value, spec)."""
    if not isinstance(spec, dict):
        raise RuleFileError(source, "the file must hold a mapping with 'scope' and 'options'")
    scope = spec.get("scope")
    if not isinstance(scope, dict) or len(scope) != 1 or not ({"category", "sku"} & set(scope)):
        raise RuleFileError(source, "'scope' must name exactly one 'category' or 'sku'")
    kind, scope_value = next(iter(scope.items()))
    options = spec.get("options")
    if not isinstance(options, list) or not options:
        raise RuleFileError(source, "'options' must be a non-empty list")
    names: set[str] = set()
    for i, option in enumerate(options, start=1):
        where = f"option {i}"
        if not isinstance(option, dict):
            raise RuleFileError(source, f"{where} must be a mapping")
        name = option.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise RuleFileError(source, f"{where}: 'name' must be snake_case")
        if name in names:
            raise RuleFileError(source, f"{where}: option {name!r} is defined twice")
        names.add(name)
        if option.get("kind") not in KINDS:
            raise RuleFileError(source, f"option {name!r}: 'kind' must be one of {sorted(KINDS)}")
        if option["kind"] == "choice" and not option.get("values"):
            raise RuleFileError(source, f"option {name!r}: a choice needs 'values'")
        if "pattern" in option:
            try:
                re.compile(option["pattern"])
            except re.error as exc:
                raise RuleFileError(source, f"option {name!r}: bad pattern: {exc}") from None
        for key in ("price_delta", "price_delta_percent"):
            if key in option:
                _decimal(option[key], f"option {name!r}: {key}", source)
        by_value = option.get("price_delta_by_value", {})
        if not isinstance(by_value, dict):
            raise RuleFileError(source, f"option {name!r}: price_delta_by_value must map "
                                        "values to amounts")
        for choice, amount in by_value.items():
            _decimal(amount, f"option {name!r}: price_delta_by_value[{choice!r}]", source)
    scope_value = str(scope_value).lower() if kind == "category" else str(scope_value).upper()
    return str(kind), scope_value, spec


def load_rule_files(*, session: Session, directory: Path) -> list[CustomizationRuleSet]:
    """Create or replace the rule set of each ``*.yml``/``*.yaml`` file. The caller commits."""
    repo = CatalogRepository(session)
    loaded = []
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        source = path.name
        if path.stat().st_size > MAX_RULE_FILE_BYTES:
            raise RuleFileError(source, "file is larger than 256 KB")
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise RuleFileError(source, f"not valid UTF-8 YAML: {exc}") from None
        kind, value, spec = validate_spec(spec, source)
        rule_set = repo.rule_set(scope_kind=kind, scope_value=value)
        if rule_set is None:
            rule_set = CustomizationRuleSet(scope_kind=kind, scope_value=value, spec=spec)
            repo.add(rule_set)
        rule_set.spec = spec
        rule_set.source = source
        loaded.append(rule_set)
    session.flush()
    return loaded
