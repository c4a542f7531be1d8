"""Rule files: what loading them refuses (naming the file and the option), on SQLite and
PostgreSQL, and the demo shop's letter patterns on accented names."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.customization.loader import RuleFileError, load_rule_files
from commerce_core.models import CustomizationRuleSet
from tests.commerce_core.helpers import SERVICE, api, product_id

GOOD = """\
scope:
  category: pottery
options:
  - name: glaze
    kind: choice
    values: [blue, green]
"""
BAD_OPTION = """\
scope:
  sku: pot-bowl-1
base_days: 2
options:
  - name: gift_box
    kind: boolean
  - name: engraving
    kind: text
{line}
"""


SWITCHES = {"foil_text": {"foil_stamping": True}, "embroidery_text": {"embroidery": True}}


def write(directory: Path, **files: str) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def stored(session: Session) -> int:
    return session.scalar(select(func.count(CustomizationRuleSet.id))) or 0


@pytest.mark.parametrize(("line", "problem"), [
    ("    max_length: twenty", "max_length"),
    ("    extra_days: -3", "extra_days"),
    ("    pattern: '^(a)\\1$'", "pattern"),
    ("    only_when: glaze", "only_when"),
    ("    only_when: [{option: glitter, in: [gold]}]", "glitter"),
    ("    only_when: [{option: gift_box, in: [maybe]}]", "true or false"),
    ("    only_when: [{option: gift_box, in: [1]}]", "true or false"),
    ("    price_delta: .inf", "price_delta"),
    ("    colour: red", "colour"),
], ids=["max_length_text", "negative_days", "backreference", "only_when_string",
        "missing_option", "box_condition_value", "box_condition_type", "infinite_delta",
        "unknown_key"])
def test_a_malformed_rule_file_is_refused_naming_the_file_and_the_option(
        session: Session, tmp_path: Path, line: str, problem: str) -> None:
    # given a good file and one with a malformed option
    directory = write(tmp_path, **{"a-pottery.yml": GOOD,
                                   "b-bowl.yml": BAD_OPTION.format(line=line)})
    # when
    with pytest.raises(RuleFileError) as caught:
        load_rule_files(session=session, directory=directory)
    # then the error names the file, the option and the problem
    message = str(caught.value)
    assert message.startswith("b-bowl.yml: ")
    assert "option 'engraving'" in message and problem in message
    # and not even the good file was stored
    assert stored(session) == 0


@pytest.mark.parametrize(("value", "problem"), [
    ("true", "'engraving' is a text: write the words it must be, not true"),
    ("Happy birthday", "'Happy birthday' can never be written in 'engraving': Engraving can "
                       "be at most 4 characters long."),
    ("'Ada!'", "'Ada!' can never be written in 'engraving': Engraving can only use letters."),
], ids=["true_or_false", "too_long", "refused_characters"])
def test_a_condition_on_a_text_that_could_never_hold_is_refused(
        session: Session, tmp_path: Path, value: str, problem: str) -> None:
    # given a ribbon offered only with an engraving the engraving itself would refuse
    directory = write(tmp_path, **{"bowl.yml": f"""\
scope: {{sku: pot-bowl-1}}
options:
  - name: engraving
    label: Engraving
    kind: text
    max_length: 4
    pattern: '^[A-Za-z]*$'
    charset: letters
  - name: ribbon
    kind: boolean
    only_when: [{{option: engraving, in: [{value}]}}]
"""})
    # when
    with pytest.raises(RuleFileError) as caught:
        load_rule_files(session=session, directory=directory)
    # then the error names the file, the option with the condition and why
    assert str(caught.value) == f"bowl.yml: option 'ribbon': only_when: {problem}"
    assert stored(session) == 0


def test_a_file_that_is_not_rules_at_all_is_refused(session: Session, tmp_path: Path) -> None:
    for name, text in {"list.yml": "- a\n- b\n", "scopeless.yml": "options: []\n",
                       "two-scopes.yml": "scope: {category: a, sku: B}\noptions: []\n",
                       "broken.yml": "scope: {category: [\n"}.items():
        directory = tmp_path / name.removesuffix(".yml")
        directory.mkdir()
        write(directory, **{name: text})
        with pytest.raises(RuleFileError, match=rf"^{name}: "):
            load_rule_files(session=session, directory=directory)
    assert stored(session) == 0


def test_product_rules_may_use_the_options_of_their_category_file(
        demo_catalog: sessionmaker[Session], tmp_path: Path) -> None:
    # given product rules for a mug that depend on the ceramics file's glaze
    directory = write(tmp_path, **{"mug.yml": """\
scope: {sku: CER-MUG-001}
options:
  - name: rim_colour
    kind: choice
    values: [gold, silver]
    only_when: [{option: glaze, in: [cobalt blue]}]
"""})
    # when they are loaded
    with demo_catalog() as session:
        loaded = load_rule_files(session=session, directory=directory)
        session.commit()
    # then they are stored in one normalised form, and drive the quote
    assert [r.spec["options"][0]["only_when"] for r in loaded] == [
        [{"option": "glaze", "in": ["cobalt blue"]}]]
    with api(demo_catalog, tmp_path) as client:
        mug = product_id(demo_catalog, "CER-MUG-001")
        quoted = client.post(f"/api/products/{mug}/quote", headers=SERVICE, json={
            "options": {"glaze": "cobalt blue", "rim_colour": "gold"}})
        assert quoted.status_code == 200, quoted.text
        refused = client.post(f"/api/products/{mug}/quote", headers=SERVICE, json={
            "options": {"glaze": "sage green", "rim_colour": "gold"}})
        assert [d["code"] for d in refused.json()["error"]["details"]] == ["not_available"]
    # and the same file for a SKU that does not exist cannot name the glaze
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    write(orphan, **{"orphan.yml": """\
scope: {sku: NO-SUCH-SKU}
options:
  - name: rim_colour
    kind: boolean
    only_when: [{option: glaze, in: [cobalt blue]}]
"""})
    with demo_catalog() as session, pytest.raises(RuleFileError, match="rim_colour.*glaze"):
        load_rule_files(session=session, directory=orphan)


@pytest.mark.parametrize(("sku", "option", "text"), [
    ("CER-MUG-001", "inscription", "Pour Chloé"),
    ("CER-MUG-001", "inscription", "Für Jürgen"),
    ("STN-NTB-001", "foil_text", "Zoë Åberg"),
    ("TXT-TTW-001", "embroidery_text", "Zoë"),
])
def test_the_demo_letter_patterns_accept_letters_of_any_language(
        demo_catalog: sessionmaker[Session], tmp_path: Path, sku: str, option: str,
        text: str) -> None:
    with api(demo_catalog, tmp_path) as client:
        product = product_id(demo_catalog, sku)
        chosen = {option: text, **SWITCHES.get(option, {})}
        quoted = client.post(f"/api/products/{product}/quote", headers=SERVICE,
                             json={"options": chosen})
        assert quoted.status_code == 200, quoted.text
        assert {line["option"]: line["value"] for line in quoted.json()["lines"]}[option] == (
            text)
        markup = client.post(f"/api/products/{product}/quote", headers=SERVICE,
                             json={"options": {**chosen, option: "<b>Zoé</b>"}})
        assert markup.status_code == 422
