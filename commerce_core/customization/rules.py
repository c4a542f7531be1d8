"""The merchant's customisation rules as typed models, parsed once from a rule file.

A rule file (YAML on disk, JSON through the merchant API) holds one ``scope`` (a category
or a SKU), an optional ``base_days`` and a list of ``options``, each a ``choice``, a
``text`` or a ``boolean``. Everything is checked here, so that the engine can trust what
it gets: amounts are finite Decimals within bounds, day counts whole numbers, patterns
compile with RE2 (linear time, so no merchant pattern can stall a quote), conditions are
well formed. What depends on other options (a condition naming one, a cycle) is checked
in ``checks.py`` over the options that apply together.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Self

import re2
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from commerce_core.customization.problems import InvalidRules, RuleProblem, explain_errors
from commerce_core.money import CENT

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
MAX_OPTIONS = 50
MAX_VALUES = 100
MAX_CONDITIONS = 20
MAX_TEXT_CHARS = 500
MAX_DAYS = 365
MAX_DELTA = Decimal("100000")
PERCENT_RANGE = (Decimal("-100"), Decimal("1000"))
MAX_PATTERN_CHARS = 500
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def token(value: Any) -> str:
    """Comparable form of a rule or shopper value: YAML booleans stay distinct from words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold()


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str) -> Any:
    """The RE2 program of a pattern (cached: the same few patterns serve every quote).

    Raises:
        re2.error: RE2 cannot compile it (a back-reference, a look-around, a typo).
    """
    return re2.compile(pattern, _RE2_OPTIONS)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a number such as 4.50")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"must be a number such as 4.50, not {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"must be a finite number, not {value!r}")
    if amount.as_tuple().exponent > 0 and abs(amount) <= MAX_DELTA:  # 1E+2 is written 100
        amount = amount.quantize(Decimal(1))
    return amount


def _money(value: Any) -> Decimal:
    amount = _number(value)
    if abs(amount) > MAX_DELTA:
        raise ValueError(f"must be between -{MAX_DELTA} and {MAX_DELTA}")
    if amount != amount.quantize(CENT):
        raise ValueError("must be in whole cents (at most two decimal places)")
    return amount


def _percent(value: Any) -> Decimal:
    amount = _number(value)
    low, high = PERCENT_RANGE
    if not low < amount <= high:
        raise ValueError(f"must be more than {low} and at most {high} (per cent)")
    if amount != amount.quantize(CENT):
        raise ValueError("may have at most two decimal places")
    return amount


def _scalar(value: Any) -> str | bool | int | float:
    if isinstance(value, float) and not Decimal(str(value)).is_finite():
        raise ValueError("must be a finite number")
    if isinstance(value, str):
        value = value.strip()
        if not 1 <= len(value) <= 100:
            raise ValueError("must be 1 to 100 characters")
    elif not isinstance(value, bool | int | float):
        raise ValueError("must be a word, a number, true or false")
    return value


def _choice_value(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("true/false is not a choice: write yes, no, on or off in quotes, "
                         "which YAML would otherwise read as true or false")
    return str(_scalar(value))


def _keys_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {_choice_value(k): v for k, v in value.items()}
    return value


Money = Annotated[Decimal, BeforeValidator(_money)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
Days = Annotated[StrictInt, Field(ge=0, le=MAX_DAYS)]
Scalar = Annotated[str | bool | int | float, BeforeValidator(_scalar)]
ChoiceValue = Annotated[str, BeforeValidator(_choice_value)]
ByValue = Annotated[dict[str, Money], BeforeValidator(_keys_as_text)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="snake_case, 1-40 characters")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Strict):
    """``{attribute: material, in: [silver]}`` or ``{option: frame, in: [true]}``."""

    attribute: str | None = Field(default=None, min_length=1, max_length=40)
    option: Name | None = None
    values: list[Scalar] = Field(alias="in", min_length=1, max_length=MAX_VALUES)

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.attribute is None) == (self.option is None):
            raise ValueError("a condition names exactly one 'attribute' or 'option', "
                             "with an 'in' list")
        return self

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(token(v) for v in self.values)


class _Option(_Strict):
    name: Name
    label: str | None = Field(default=None, min_length=1, max_length=100)
    required: StrictBool = False
    price_delta: Money | None = None
    price_delta_percent: Percent | None = None
    extra_days: Days = 0
    only_when: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    not_when: list[Condition] = Field(default_factory=list, max_length=MAX_CONDITIONS)
    reason: str | None = Field(default=None, max_length=500)

    @property
    def title(self) -> str:
        return self.label or self.name

    def conditions(self) -> Iterator[Condition]:
        yield from self.only_when
        yield from self.not_when


class ChoiceOption(_Option):
    kind: Literal["choice"]
    values: list[ChoiceValue] = Field(min_length=1, max_length=MAX_VALUES)
    price_delta_by_value: ByValue | None = None

    @model_validator(mode="after")
    def _values_and_prices(self) -> Self:
        seen: set[str] = set()
        for value in self.values:
            if token(value) in seen:
                raise ValueError(f"values: {value!r} is listed twice")
            seen.add(token(value))
        for key in self.price_delta_by_value or {}:
            if token(key) not in seen:
                raise ValueError(f"price_delta_by_value: {key!r} is not one of the values")
        return self

    def delta_of(self, value: Any) -> Decimal:
        by_token = {token(k): v for k, v in (self.price_delta_by_value or {}).items()}
        return by_token.get(token(value), Decimal(0))


class TextOption(_Option):
    kind: Literal["text"]
    max_length: Annotated[StrictInt, Field(ge=1, le=MAX_TEXT_CHARS)] | None = None
    min_length: Annotated[StrictInt, Field(ge=0, le=MAX_TEXT_CHARS)] | None = None
    pattern: Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_CHARS)] | None = None
    charset: str | None = Field(default=None, max_length=200)
    """How the pattern is told to shoppers ("letters, digits and spaces")."""

    @field_validator("pattern")
    @classmethod
    def _compiles_with_re2(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                compiled(pattern)
            except re2.error as exc:
                why = exc.args[0] if exc.args else exc
                why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
                raise ValueError(f"the pattern cannot be used ({why}); patterns may not use "
                                 "back-references or look-arounds") from None
        return pattern

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        if (self.min_length is not None and self.max_length is not None
                and self.min_length > self.max_length):
            raise ValueError(f"min_length ({self.min_length}) is more than max_length "
                             f"({self.max_length})")
        return self

    def matches(self, text: str) -> bool:
        return self.pattern is None or compiled(self.pattern).fullmatch(text) is not None


class BooleanOption(_Option):
    kind: Literal["boolean"]


Option = Annotated[ChoiceOption | TextOption | BooleanOption, Field(discriminator="kind")]


class Scope(_Strict):
    category: str | None = Field(default=None, min_length=1, max_length=120)
    sku: str | None = Field(default=None, min_length=1, max_length=120)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.category is None) == (self.sku is None):
            raise ValueError("'scope' names exactly one 'category' or 'sku'")
        return self

    @property
    def kind(self) -> str:
        return "category" if self.category is not None else "sku"

    @property
    def value(self) -> str:
        """Categories are stored lower case, SKUs upper case (as the catalog does)."""
        return self.category.strip().lower() if self.category is not None else (
            str(self.sku).strip().upper())


class RuleFile(_Strict):
    scope: Scope
    base_days: Days | None = None
    options: list[Option] = Field(min_length=1, max_length=MAX_OPTIONS)

    def dump(self) -> dict[str, Any]:
        """The normalised form that is stored and shown (what the merchant set, typed)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        data["scope"] = {self.scope.kind: self.scope.value}
        return data


_OPTIONS = TypeAdapter(list[Option])


def as_dict(option: Option) -> dict[str, Any]:
    """One option as stored and as the product API shows it."""
    return option.model_dump(mode="json", by_alias=True, exclude_unset=True)


def parse_rule_file(raw: Any) -> RuleFile:
    """Parse one rule file and check each option on its own.

    Raises:
        InvalidRules: every problem found, each naming its option.
    """
    if not isinstance(raw, dict):
        raise InvalidRules([RuleProblem("*", "", "the file must hold a mapping with 'scope' "
                                                 "and 'options'")])
    try:
        rule_file = RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidRules(explain_errors(exc, raw)) from None
    names: set[str] = set()
    for option in rule_file.options:
        if option.name in names:
            raise InvalidRules([RuleProblem(option.name, "name", "is defined twice")])
        names.add(option.name)
    return rule_file


def parse_options(raw: Any) -> list[Option]:
    """A bare list of options (no file around it), as tests and tools write them."""
    try:
        return _OPTIONS.validate_python(raw)
    except ValidationError as exc:
        raise InvalidRules(explain_errors(exc, {"options": raw}, prefix=("options",))) from None
