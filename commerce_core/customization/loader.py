"""Load the merchant's customisation rule files (YAML, one per category or product)."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from commerce_core.customization.checks import Scope, scope_problems
from commerce_core.customization.problems import InvalidRules
from commerce_core.customization.rules import RuleFile, parse_rule_file
from commerce_core.customization.service import store
from commerce_core.models import CustomizationRuleSet

MAX_RULE_FILE_BYTES = 256 * 1024


class RuleFileError(ValueError):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


def read_rule_file(path: Path) -> RuleFile:
    """Read and parse one rule file.

    Raises:
        RuleFileError: naming the file, then each option and its problem.
    """
    source = path.name
    if path.stat().st_size > MAX_RULE_FILE_BYTES:
        raise RuleFileError(source, "file is larger than 256 KB")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RuleFileError(source, f"not valid UTF-8 YAML: {exc}") from None
    try:
        return parse_rule_file(raw)
    except InvalidRules as exc:
        raise RuleFileError(source, "; ".join(map(str, exc.problems))) from None


def load_rule_files(*, session: Session, directory: Path) -> list[CustomizationRuleSet]:
    """Create or replace the rule set of each ``*.yml``/``*.yaml`` file. The caller commits.

    Every file is read and checked — with the products it applies to and with the other
    files — before any is stored, so a bad file leaves the stored rules as they were.

    Raises:
        RuleFileError: the first file with a problem, naming its option.
    """
    paths = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    files: dict[Scope, tuple[str, RuleFile]] = {}
    for path in paths:
        rule_file = read_rule_file(path)
        scope = (rule_file.scope.kind, rule_file.scope.value)
        if scope in files:
            raise RuleFileError(path.name, f"{scope[0]} {scope[1]} already has its rules in "
                                           f"{files[scope][0]}")
        files[scope] = (path.name, rule_file)
    problems = scope_problems(session=session,
                              pending={scope: f for scope, (_, f) in files.items()})
    for scope, (source, _) in files.items():
        if scope in problems:
            raise RuleFileError(source, "; ".join(map(str, problems[scope])))
    return [store(session=session, rule_file=f, source=source) for source, f in files.values()]
