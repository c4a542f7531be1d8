"""Problems of rule files, told in the merchant's terms: which option, which setting, why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError

from commerce_core.errors import CommerceError


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule file: which option ("*": the file), which field, why."""

    option: str
    field: str
    message: str

    def __str__(self) -> str:
        where = "" if self.option == "*" else f"option {self.option!r}: "
        return f"{where}{self.field + ': ' if self.field else ''}{self.message}"


class InvalidRules(CommerceError):
    code = "invalid_rules"
    http_status = 422

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        super().__init__("These rules were not saved: " + "; ".join(map(str, problems)),
                         details=[asdict(p) for p in problems])
        self.problems = list(problems)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _plain(err: Any, owner: str) -> str:
    """A pydantic error told the way a merchant editing a rule file understands it;
    ``owner`` is what holds the setting ("a text option", "a condition")."""
    kind, ctx, given = err["type"], err.get("ctx") or {}, _shown(err.get("input"))
    plain = {
        "missing": "is required",
        "extra_forbidden": f"is not a setting of {owner} (misspelt?)",
        "int_type": f"must be a whole number, not {given}",
        "int_parsing": f"must be a whole number, not {given}",
        "bool_type": f"must be true or false, not {given}",
        "string_type": f"must be text, not {given}",
        "list_type": f"must be a list such as [a, b], not {given}",
        "dict_type": f"must map each value to an amount, not {given}",
        "model_type": f"must be a mapping of settings, not {given}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}, not {given}",
        "less_than_equal": f"must be at most {ctx.get('le')}, not {given}",
        "too_short": "must not be empty",
        "too_long": f"may hold at most {ctx.get('max_length')} items",
        "string_too_short": "must not be empty",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
        "string_pattern_mismatch": "must be snake_case: a lower-case letter, then lower-case "
                                   "letters, digits or _ (40 at most)",
        "union_tag_invalid": "'kind' must be choice, text or boolean, not "
                             f"{_shown(ctx.get('tag'))}",
        "union_tag_not_found": "'kind' is required: choice, text or boolean",
    }.get(kind)
    return plain or str(err["msg"]).removeprefix("Value error, ")


def explain_errors(error: ValidationError, raw: Any, *, prefix: tuple[str, ...] = ()
                   ) -> list[RuleProblem]:
    """Pydantic's errors in the merchant's terms: the option's name, the field, the reason."""
    options = raw.get("options") if isinstance(raw, dict) else None
    found = []
    for err in error.errors():
        loc = [*prefix, *err["loc"]]
        name, owner = "*", "the scope" if loc[:1] == ["scope"] else "a rule file"
        if loc[:1] == ["options"] and len(loc) > 1 and isinstance(loc[1], int):
            index = loc[1]
            item = options[index] if isinstance(options, list) else None
            named = item.get("name") if isinstance(item, dict) else None
            name = named if isinstance(named, str) and named else f"option {index + 1}"
            loc = loc[2:]
            owner = "an option"
            if loc and loc[0] in ("choice", "text", "boolean"):
                owner, loc = f"a {loc[0]} option", loc[1:]
            if loc[:1] in (["only_when"], ["not_when"]):
                owner = "a condition"
        message = _plain(err, owner)
        found.append(RuleProblem(name, ".".join(str(p) for p in loc), message))
    return found
