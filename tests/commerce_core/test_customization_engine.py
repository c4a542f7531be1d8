from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from commerce_core.customization.engine import (
    InvalidCustomization,
    Quote,
    QuoteLine,
    Violation,
    applicable_options,
    evaluate,
)
from commerce_core.customization.problems import InvalidRules
from commerce_core.customization.rules import Option, parse_options, parse_rule_file

RULES = Path(__file__).resolve().parents[2] / "commerce_core" / "demo" / "customization"
FRIDAY = date(2024, 5, 3)
MONDAY = date(2024, 5, 6)


def rule_file(name: str) -> dict[str, Any]:
    return yaml.safe_load((RULES / f"{name}.yml").read_text(encoding="utf-8"))


def options_of(*names: str) -> list[Option]:
    """Options of the given files merged the way the service does: later files win by name."""
    merged: dict[str, Option] = {}
    for name in names:
        for option in parse_rule_file(rule_file(name)).options:
            merged[option.name] = option
    return list(merged.values())


def typed(options: list[Any]) -> list[Option]:
    """Options written inline as the merchant would, parsed the way rule files are."""
    return [o if not isinstance(o, dict) else parse_options([o])[0] for o in options]


def quote(options: list[Any], chosen: dict[str, Any], *,
          attributes: dict[str, str] | None = None, base_price: str = "20.00",
          today: date = MONDAY, base_days: int = 1) -> Quote:
    return evaluate(options=typed(options), attributes=attributes or {}, chosen=chosen,
                    base_price=Decimal(base_price), currency="EUR", today=today,
                    base_days=base_days)


def violations(options: list[Any], chosen: dict[str, Any], *,
               attributes: dict[str, str] | None = None) -> list[Violation]:
    with pytest.raises(InvalidCustomization) as caught:
        quote(options, chosen, attributes=attributes)
    return caught.value.violations


def codes(found: list[Violation]) -> list[tuple[str, str]]:
    return [(v.option, v.code) for v in found]


def names(options: list[Option]) -> list[str]:
    return [o.name for o in options]


# --- the merchant's real rule files ------------------------------------------------------

SILVER_NECKLACE = {"type": "necklace", "material": "sterling silver", "colour": "silver"}
VERMEIL_RING = {"type": "ring", "material": "gold vermeil", "colour": "gold"}
WEDDING_BAND = {"type": "ring", "colour": "gold", "material": "9ct gold", "size": "m",
                "made_to_order": "yes"}
ART_PRINT_A4 = {"type": "art print", "size": "a4"}
LARGE_PRINT = {"type": "art print", "size": "50x70 cm"}
WALLET = {"type": "wallet", "colour": "brown", "material": "leather"}


@pytest.mark.parametrize("path", sorted(RULES.glob("*.yml")), ids=lambda p: p.name)
def test_every_demo_file_is_understood_by_the_engine(path: Path) -> None:
    # given a real rule file, parsed the way the loader does
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    options = parse_rule_file(spec).options
    # when every option is offered to a product that meets no attribute condition
    offered = applicable_options(options=options, attributes={})
    # then only options without an only_when on an attribute remain
    expected = [o["name"] for o in spec["options"]
                if not any("attribute" in c for c in o.get("only_when", []))]
    assert names(offered) == expected


@pytest.mark.parametrize("path", sorted(RULES.glob("*.yml")), ids=lambda p: p.name)
def test_every_demo_file_is_stored_as_written(path: Path) -> None:
    # given a real rule file
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    # when it is parsed and dumped in its normalised form
    dumped = parse_rule_file(spec).dump()
    # then the form is stable, and says what the merchant wrote
    assert parse_rule_file(dumped).dump() == dumped
    assert [o["name"] for o in dumped["options"]] == [o["name"] for o in spec["options"]]
    assert all(set(o) == set(w) for o, w in zip(dumped["options"], spec["options"],
                                                 strict=True))


def test_jewellery_engraving_is_offered_only_on_sterling_silver_and_brass() -> None:
    options = options_of("jewellery")
    for material, offered in [("sterling silver", True), ("brass", True),
                              ("gold vermeil", False), ("gold plated", False)]:
        attributes = {"type": "bracelet", "material": material}
        assert ("engraving" in names(applicable_options(options=options,
                                                        attributes=attributes))) is offered


def test_jewellery_engraving_on_silver_adds_price_and_days() -> None:
    # when
    result = quote(options_of("jewellery"), {"engraving": "  A & J  "},
                   attributes=SILVER_NECKLACE, base_price="45.00", today=MONDAY)
    # then
    assert result.unit_price == Decimal("60.00")
    assert result.lines == (QuoteLine(option="engraving", label="Hand engraving", value="A & J",
                                      price_delta=Decimal("15.00"), extra_days=3),)
    assert result.making_days == 4
    assert result.ready_by == date(2024, 5, 10)


def test_jewellery_engraving_on_vermeil_is_refused_in_the_shops_words() -> None:
    found = violations(options_of("jewellery"), {"engraving": "AJ"}, attributes=VERMEIL_RING)
    assert found == [Violation(
        "engraving", "not_available",
        "We only engrave sterling silver and brass; plated and stone pieces would be damaged "
        "by the graver.")]


@pytest.mark.parametrize(("length", "delta"), [
    ("40 cm", "0.00"), ("45 cm", "4.00"), ("50 cm", "8.00"), ("60 cm", "14.00")])
def test_chain_length_is_priced_by_value(length: str, delta: str) -> None:
    result = quote(options_of("jewellery"), {"chain_length": length},
                   attributes=SILVER_NECKLACE, base_price="38.00")
    assert result.lines[0].price_delta == Decimal(delta)
    assert result.unit_price == Decimal("38.00") + Decimal(delta)
    assert result.making_days == 2


def test_chain_length_on_a_ring_is_not_available() -> None:
    found = violations(options_of("jewellery"), {"chain_length": "45 cm"},
                       attributes={"type": "ring", "material": "sterling silver"})
    assert found == [Violation("chain_length", "not_available",
                               "Chain length can only be changed on necklaces.")]


def test_wedding_band_requires_a_ring_size_from_its_product_file() -> None:
    found = violations(options_of("jewellery", "jewellery-wedding-band"), {},
                       attributes=WEDDING_BAND)
    assert found == [Violation("band_size", "required", "Ring size is required.")]


def test_wedding_band_width_price_and_engraving_inside() -> None:
    # given the category rules merged with the product's own
    options = options_of("jewellery", "jewellery-wedding-band")
    # when
    result = quote(options, {"band_size": "N", "band_width": "3 mm",
                             "inside_engraving": "A+J 2024"},
                   attributes=WEDDING_BAND, base_price="380.00", today=FRIDAY)
    # then
    assert [(line.option, line.value, line.price_delta) for line in result.lines] == [
        ("band_size", "n", Decimal("0.00")), ("band_width", "3 mm", Decimal("60.00")),
        ("inside_engraving", "A+J 2024", Decimal("0.00"))]
    assert result.unit_price == Decimal("440.00")
    assert result.making_days == 3
    assert result.ready_by == date(2024, 5, 8)


def test_wedding_band_engraving_depends_on_the_chosen_width() -> None:
    found = violations(options_of("jewellery", "jewellery-wedding-band"),
                       {"band_size": "m", "band_width": "2 mm", "inside_engraving": "A+J"},
                       attributes=WEDDING_BAND)
    assert found == [Violation(
        "inside_engraving", "not_available",
        "A 2 mm band is too narrow to engrave inside; please choose 3 mm or wider.")]


@pytest.mark.parametrize(("base", "frame_delta"), [
    ("35.00", "14.00"), ("24.99", "10.00"), ("18.50", "7.40")])
def test_prints_frame_is_a_percentage_of_the_base_price(base: str, frame_delta: str) -> None:
    result = quote(options_of("prints"), {"frame": True, "frame_colour": "natural oak"},
                   attributes=ART_PRINT_A4, base_price=base)
    assert result.lines[0].price_delta == Decimal(frame_delta)
    assert result.unit_price == Decimal(base) + Decimal(frame_delta)
    assert result.making_days == 5


@pytest.mark.parametrize("frame", [None, False, "no"])
def test_prints_frame_colour_needs_a_frame(frame: Any) -> None:
    chosen = {"frame_colour": "black"} if frame is None else {"frame": frame,
                                                             "frame_colour": "black"}
    found = violations(options_of("prints"), chosen, attributes=ART_PRINT_A4)
    assert found == [Violation("frame_colour", "not_available",
                               "Choose a frame first, then its colour.")]


def test_prints_gift_wrap_is_refused_on_large_sizes() -> None:
    found = violations(options_of("prints"), {"gift_wrap": "yes"}, attributes=LARGE_PRINT)
    assert found == [Violation("gift_wrap", "not_available",
                               "Large prints ship in a tube and cannot be gift-wrapped.")]
    assert "gift_wrap" not in names(applicable_options(options=options_of("prints"),
                                                       attributes=LARGE_PRINT))


def test_prints_gift_wrap_set_to_false_on_large_sizes_is_simply_not_chosen() -> None:
    result = quote(options_of("prints"), {"gift_wrap": False}, attributes=LARGE_PRINT,
                   base_price="60.00")
    assert result.lines == ()
    assert result.unit_price == Decimal("60.00")
    assert result.making_days == 1


def test_prints_mount_is_refused_on_large_prints_even_with_a_frame() -> None:
    found = violations(options_of("prints"), {"frame": True, "mount": True},
                       attributes=LARGE_PRINT)
    assert codes(found) == [("mount", "not_available")]


def test_prints_applicable_options_keep_those_that_depend_on_the_frame() -> None:
    offered = applicable_options(options=options_of("prints"),
                                 attributes={"type": "postcard set", "size": "a6"})
    assert names(offered) == ["frame_colour", "mount", "gift_wrap"]


@pytest.mark.parametrize("initials", ["J", "JD", "JDR"])
def test_leather_monogram_accepts_capital_initials(initials: str) -> None:
    result = quote(options_of("leather"), {"monogram": initials}, attributes=WALLET)
    assert result.lines[0].value == initials
    assert result.unit_price == Decimal("28.00")


@pytest.mark.parametrize(("initials", "expected"), [
    ("jd", [("monogram", "bad_characters")]),
    ("J.D", [("monogram", "bad_characters")]),
    ("ABCD", [("monogram", "too_long"), ("monogram", "bad_characters")]),
])
def test_leather_monogram_pattern_is_enforced(initials: str, expected: list[Any]) -> None:
    found = violations(options_of("leather"), {"monogram": initials}, attributes=WALLET)
    assert codes(found) == expected
    assert found[-1].message == "Monogram initials can only use 1 to 3 capital letters."


def test_leather_belt_length_out_of_range_uses_the_charset_wording() -> None:
    belt = {"type": "belt", "colour": "black"}
    assert quote(options_of("leather"), {"belt_length": "95"}, attributes=belt).unit_price == (
        Decimal("30.00"))
    found = violations(options_of("leather"), {"belt_length": "140"}, attributes=belt)
    assert found == [Violation(
        "belt_length", "bad_characters",
        "Made-to-measure belt length (cm) can only use a whole number of centimetres from 70 "
        "to 130.")]


def test_stationery_foil_text_is_required_only_once_foil_stamping_is_chosen() -> None:
    options = options_of("stationery")
    notebook = {"type": "notebook"}
    assert quote(options, {}, attributes=notebook).lines == ()
    found = violations(options, {"foil_stamping": True}, attributes=notebook)
    assert found == [Violation("foil_text", "required", "Name to stamp is required.")]
    result = quote(options, {"foil_stamping": True, "foil_text": "Mia", "foil_colour": "Gold"},
                   attributes=notebook)
    assert [line.value for line in result.lines] == [True, "Mia", "gold"]
    assert result.unit_price == Decimal("27.00")


def test_stationery_foil_text_without_foil_stamping_is_refused() -> None:
    found = violations(options_of("stationery"), {"foil_text": "Mia"},
                       attributes={"type": "notebook"})
    assert found == [Violation("foil_text", "not_available",
                               "Add foil stamping first, then tell us the name.")]


def test_refused_foil_stamping_does_not_also_demand_the_name() -> None:
    found = violations(options_of("stationery"), {"foil_stamping": True},
                       attributes={"type": "greeting card"})
    assert codes(found) == [("foil_stamping", "not_available")]


def test_ceramics_gold_rim_is_refused_with_a_matte_black_glaze() -> None:
    mug = {"type": "mug", "material": "porcelain"}
    assert quote(options_of("ceramics"), {"glaze": "Cobalt Blue", "gold_rim": True},
                 attributes=mug).making_days == 14
    found = violations(options_of("ceramics"), {"glaze": "matte black", "gold_rim": True},
                       attributes=mug)
    assert codes(found) == [("gold_rim", "not_available")]
    assert "matte black" in found[0].message


def test_candles_scent_only_for_candles_poured_to_order() -> None:
    options = options_of("candles")
    poured = {"type": "candle", "material": "soy wax", "made_to_order": "yes"}
    assert quote(options, {"scent": "fig and cedar", "wooden_wick": True},
                 attributes=poured).making_days == 15
    found = violations(options, {"scent": "fig and cedar"},
                       attributes={"type": "candle", "material": "soy wax"})
    assert codes(found) == [("scent", "not_available")]


def test_textiles_embroidery_with_its_name() -> None:
    result = quote(options_of("textiles"),
                   {"embroidery": True, "embroidery_text": "Ada", "thread_colour": "sage green",
                    "gift_wrap": True},
                   attributes={"type": "tea towel"}, base_price="14.00", today=FRIDAY)
    assert result.unit_price == Decimal("26.50")
    assert result.making_days == 6
    assert result.ready_by == date(2024, 5, 13)


# --- each rule on small inline specs ----------------------------------------------------

COLOUR = {"name": "colour", "label": "Colour", "kind": "choice", "values": ["Natural Oak", "black"]}
NAME = {"name": "name", "label": "Name", "kind": "text", "max_length": 10,
        "pattern": "^[A-Za-z ]*$", "charset": "letters and spaces", "price_delta": "5.00"}
NOTE = {"name": "note", "label": "Note", "kind": "text"}
WRAP = {"name": "wrap", "label": "Gift wrap", "kind": "boolean", "price_delta": "3.00",
        "extra_days": 1, "not_when": [{"attribute": "size", "in": ["large"]}]}


def test_missing_required_option_is_reported_with_its_label() -> None:
    size = {"name": "size", "label": "Ring size", "kind": "choice", "values": ["m"],
            "required": True}
    assert violations([size], {}) == [Violation("size", "required", "Ring size is required.")]


def test_a_required_option_with_a_bad_value_is_not_also_reported_missing() -> None:
    size = {"name": "size", "label": "Ring size", "kind": "choice", "values": ["m"],
            "required": True}
    assert codes(violations([size], {"size": "zz"})) == [("size", "not_allowed_value")]


def test_unknown_option_is_reported_under_star() -> None:
    found = violations([COLOUR], {"flavour": "lemon"})
    assert codes(found) == [("*", "unknown_option")]
    assert "flavour" in found[0].message


def test_all_violations_are_collected_at_once() -> None:
    # given
    options = [COLOUR, NAME, WRAP, {**NOTE, "required": True}]
    chosen = {"bogus": 1, "colour": "pink", "name": "Ada!", "wrap": True}
    # when
    with pytest.raises(InvalidCustomization) as caught:
        quote(options, chosen, attributes={"size": "large"})
    # then
    error = caught.value
    assert codes(error.violations) == [
        ("*", "unknown_option"), ("colour", "not_allowed_value"), ("name", "bad_characters"),
        ("wrap", "not_available"), ("note", "required")]
    assert error.code == "invalid_customization"
    assert error.http_status == 422
    assert error.details == [{"option": v.option, "code": v.code, "message": v.message}
                             for v in error.violations]
    assert error.violations[2].message == "Name can only use letters and spaces."
    assert error.violations[3].message == "Gift wrap is not available for this product."


def test_percent_delta_rounds_half_up_to_cents() -> None:
    # given 5 % of 10.10 is 0.505, which banker's rounding would make 0.50
    engraving = {"name": "gilding", "label": "Gilding", "kind": "boolean",
                 "price_delta_percent": "5"}
    # when
    result = quote([engraving], {"gilding": True}, base_price="10.10")
    # then
    assert result.lines[0].price_delta == Decimal("0.51")
    assert result.unit_price == Decimal("10.61")


def test_deltas_of_all_kinds_add_up_per_option_and_in_total() -> None:
    option = {"name": "size", "label": "Size", "kind": "choice", "values": ["s", "xl"],
              "price_delta": "1.00", "price_delta_percent": "12.5",
              "price_delta_by_value": {"xl": "2.50"}}
    result = quote([option, NAME], {"size": "XL", "name": "Ada"}, base_price="19.99")
    assert [line.price_delta for line in result.lines] == [Decimal("6.00"), Decimal("5.00")]
    assert result.unit_price == Decimal("30.99")
    assert result.unit_price.as_tuple().exponent == -2
    assert all(isinstance(line.price_delta, Decimal) for line in result.lines)


@pytest.mark.parametrize(("today", "days", "expected"), [
    (date(2024, 5, 6), 1, date(2024, 5, 7)),     # Monday + 1 -> Tuesday
    (date(2024, 5, 3), 1, date(2024, 5, 6)),     # Friday + 1 -> Monday
    (date(2024, 5, 4), 1, date(2024, 5, 6)),     # Saturday + 1 -> Monday
    (date(2024, 5, 5), 2, date(2024, 5, 7)),     # Sunday + 2 -> Tuesday
    (date(2024, 5, 6), 5, date(2024, 5, 13)),    # Monday + 5 -> next Monday
    (date(2024, 5, 2), 10, date(2024, 5, 16)),   # Thursday + 10 -> Thursday in two weeks
    (date(2024, 5, 8), 0, date(2024, 5, 8)),     # nothing to make: today
    (date(2024, 5, 4), 0, date(2024, 5, 6)),     # nothing to make on a Saturday: Monday
])
def test_ready_by_counts_workshop_days_only(today: date, days: int, expected: date) -> None:
    result = quote([COLOUR], {}, today=today, base_days=days)
    assert result.making_days == days
    assert result.ready_by == expected


def test_extra_days_of_chosen_options_add_to_base_days() -> None:
    slow = {"name": "slow", "label": "Slow", "kind": "boolean", "extra_days": 7}
    result = quote([slow, WRAP], {"slow": True, "wrap": True}, today=FRIDAY, base_days=3)
    assert result.making_days == 11
    assert result.ready_by == date(2024, 5, 20)


@pytest.mark.parametrize("value", [False, "no", "NO", " false ", None])
def test_boolean_false_counts_as_not_chosen(value: Any) -> None:
    # given a large item where gift wrap would be refused if chosen
    # when
    result = quote([WRAP], {"wrap": value}, attributes={"size": "large"}, base_days=1)
    # then
    assert result.lines == ()
    assert result.unit_price == Decimal("20.00")
    assert result.making_days == 1


@pytest.mark.parametrize("value", [True, "yes", "Yes", "true"])
def test_boolean_true_is_chosen(value: Any) -> None:
    result = quote([WRAP], {"wrap": value})
    assert result.lines[0].value is True
    assert result.unit_price == Decimal("23.00")


@pytest.mark.parametrize("value", ["maybe", 1, 0, [True]])
def test_boolean_refuses_anything_else(value: Any) -> None:
    assert violations([WRAP], {"wrap": value}) == [
        Violation("wrap", "wrong_type", "Gift wrap is a yes-or-no choice.")]


@pytest.mark.parametrize("value", ["natural oak", "  NATURAL OAK ", "Natural Oak"])
def test_choice_matches_case_insensitively_and_keeps_the_rules_spelling(value: str) -> None:
    assert quote([COLOUR], {"colour": value}).lines[0].value == "Natural Oak"


def test_choice_refusal_lists_the_allowed_values() -> None:
    assert violations([COLOUR], {"colour": "walnut"}) == [
        Violation("colour", "not_allowed_value", "Colour must be one of: Natural Oak, black.")]


@pytest.mark.parametrize("value", [True, ["black"], {"x": 1}])
def test_choice_refuses_values_that_are_not_text(value: Any) -> None:
    assert codes(violations([COLOUR], {"colour": value})) == [("colour", "wrong_type")]


@pytest.mark.parametrize("text", ["Ada\x00", "Ada\nLovelace", "Ada\u202eecalevol", "A\x1bB"])
def test_control_characters_are_rejected(text: str) -> None:
    # given a free text option with no pattern of its own
    assert violations([NOTE], {"note": text}) == [
        Violation("note", "bad_characters", "Note contains characters we cannot use.")]


def test_text_is_stripped_before_length_and_pattern() -> None:
    # given 15 characters with the spaces, 9 without
    result = quote([NAME], {"name": "   Ada Byron   "}, base_price="10.00")
    assert result.lines[0].value == "Ada Byron"


def test_text_length_limits() -> None:
    short = {**NOTE, "min_length": 2}
    assert violations([NAME], {"name": "Ada Lovelace K"}) == [
        Violation("name", "too_long", "Name can be at most 10 characters long.")]
    assert violations([short], {"note": "A"}) == [
        Violation("note", "too_short", "Note must be at least 2 characters long.")]


def test_text_over_500_characters_is_refused_before_any_rule() -> None:
    assert violations([NOTE], {"note": "a" * 501}) == [
        Violation("note", "too_long", "Note can be at most 500 characters long.")]
    assert quote([NOTE], {"note": "a" * 500}).lines[0].value == "a" * 500


def test_text_must_be_a_string() -> None:
    assert codes(violations([NOTE], {"note": 42})) == [("note", "wrong_type")]


def test_empty_optional_text_counts_as_not_chosen_and_empty_required_text_is_missing() -> None:
    assert quote([NAME], {"name": "   "}).lines == ()
    required = {**NAME, "required": True}
    assert codes(violations([required], {"name": ""})) == [("name", "required")]


def test_at_most_20_options_may_be_chosen() -> None:
    options = [{"name": f"o{i}", "label": f"O{i}", "kind": "boolean"} for i in range(21)]
    assert quote(options[:20], {o["name"]: True for o in options[:20]}).making_days == 1
    assert codes(violations(options, {o["name"]: True for o in options})) == [("*", "too_long")]


def test_an_invalid_option_does_not_cascade_into_its_dependants() -> None:
    # given an engraving font that depends on a malformed engraving toggle
    toggle = {"name": "engrave", "label": "Engrave", "kind": "boolean"}
    font = {"name": "font", "label": "Font", "kind": "choice", "values": ["serif"],
            "only_when": [{"option": "engrave", "in": [True]}]}
    # when / then
    assert codes(violations([toggle, font], {"engrave": "perhaps", "font": "serif"})) == [
        ("engrave", "wrong_type")]


def test_option_condition_on_an_unticked_box_matches_false() -> None:
    plain = {"name": "plain_box", "label": "Plain box", "kind": "boolean",
             "only_when": [{"option": "wrap", "in": [False]}]}
    assert quote([WRAP, plain], {"plain_box": True}).lines[0].option == "plain_box"
    assert codes(violations([WRAP, plain], {"wrap": True, "plain_box": True})) == [
        ("plain_box", "not_available")]


def test_quote_lines_follow_the_rule_order_not_the_shoppers() -> None:
    result = quote([COLOUR, NAME, WRAP], {"wrap": True, "name": "Ada", "colour": "black"})
    assert [line.option for line in result.lines] == ["colour", "name", "wrap"]
    assert result.base_price == Decimal("20.00")
    assert result.currency == "EUR"


def test_applicable_options_filter_on_attributes_and_keep_option_dependencies() -> None:
    # given
    engraving = {"name": "engraving", "label": "Engraving", "kind": "text",
                 "only_when": [{"attribute": "material", "in": ["brass", "silver"]}]}
    font = {"name": "font", "label": "Font", "kind": "choice", "values": ["serif"],
            "only_when": [{"option": "engraving", "in": ["x"]}]}
    options = [engraving, font, WRAP]
    # when / then
    assert names(applicable_options(options=typed(options),
                                    attributes={"material": "Brass"})) == [
        "engraving", "font", "wrap"]
    assert names(applicable_options(options=typed(options),
                                    attributes={"material": "gold", "size": "large"})) == [
        "font"]
    assert names(applicable_options(options=typed(options), attributes={})) == ["font", "wrap"]


def test_malformed_conditions_and_day_counts_never_reach_the_engine() -> None:
    broken = {**WRAP, "not_when": [{"attribute": "size", "in": "large"}]}
    with pytest.raises(InvalidRules) as caught:
        typed([broken])
    assert [(p.option, p.field) for p in caught.value.problems] == [("wrap", "not_when.0.in")]
    negative = {**WRAP, "extra_days": -2}
    with pytest.raises(InvalidRules) as caught:
        typed([negative])
    assert [(p.option, p.field) for p in caught.value.problems] == [("wrap", "extra_days")]


@pytest.mark.parametrize("text", ["Pour Chloé", "Pour Chloe\u0301", "Łódź", "Ἀθηνᾶ"])
def test_letters_of_any_language_are_letters(text: str) -> None:
    letters = {**NOTE, "pattern": "^[\\p{L} ]*$", "charset": "letters and spaces"}
    assert quote([letters], {"note": text}).lines[0].value == unicodedata.normalize("NFC", text)
    assert codes(violations([letters], {"note": "Chloé 2"})) == [("note", "bad_characters")]
