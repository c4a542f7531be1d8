"""The FAQ file format: every rule, and every error with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.faq_parser import (
    MAX_ANSWER_CHARS,
    MAX_FILE_BYTES,
    MAX_QUESTION_CHARS,
    FaqFile,
    normalise_question,
    parse_faq_bytes,
    read_faq_file,
)


def parse(text: str, name: str = "shop.md") -> FaqFile:
    return parse_faq_bytes(text.encode(), name=name)


def messages(parsed: FaqFile) -> list[str]:
    return [str(p) for p in parsed.problems]


def test_entries_with_questions_phrasings_answers_and_lines() -> None:
    # given
    text = (
        "# Shipping\n"
        "Notes for us, not shoppers.\n"
        "\n"
        "## How long does shipping take?\n"
        "Also asked: delivery time? | When will my parcel arrive?\n"
        "\n"
        "Parcels to France take **2–3 days**.\n"
        "\n"
        "- tracked\n"
        "\n"
        "## Do you ship abroad?\n"
        "Yes, to the EU.\n"
    )
    # when
    parsed = parse(text)
    # then
    assert parsed.ok, messages(parsed)
    first, second = parsed.entries
    assert first.question == "How long does shipping take?"
    assert first.also_asked == ("delivery time?", "When will my parcel arrive?")
    assert first.answer == "Parcels to France take **2–3 days**.\n\n- tracked"
    assert (first.source, first.also_line) == ("shop.md:4", 5)
    assert second.question == "Do you ship abroad?"
    assert second.also_asked == ()
    assert second.answer == "Yes, to the EU."
    assert second.source == "shop.md:11"


def test_text_before_the_first_heading_is_ignored_even_if_it_looks_like_a_phrasing() -> None:
    parsed = parse("Also asked: nothing | here\nintro\n\n## Q?\nA.\n")
    assert parsed.ok
    assert [e.question for e in parsed.entries] == ["Q?"]


@pytest.mark.parametrize(("line", "question"), [
    ("## Plain?", "Plain?"),
    ("##   Spaced out?   ", "Spaced out?"),
    ("   ## Indented up to three?", "Indented up to three?"),
    ("## Closing hashes? ##", "Closing hashes?"),
    ("## C# courses?", "C# courses?"),
])
def test_level_two_headings(line: str, question: str) -> None:
    parsed = parse(f"{line}\nAnswer.\n")
    assert parsed.ok, messages(parsed)
    assert parsed.entries[0].question == question


def test_deeper_headings_other_hash_lines_and_code_blocks_belong_to_the_answer() -> None:
    text = (
        "## Care?\n"
        "### Ceramics\n"
        "    ## four spaces is code\n"
        "##no space is not a heading\n"
        "# A level-1 heading\n"
        "```\n"
        "## not a question inside a code block\n"
        "```\n"
        "~~~~\n"
        "## nor in a tilde block\n"
        "~~~\n"
        "~~~~\n"
        "Done.\n"
    )
    parsed = parse(text)
    assert parsed.ok, messages(parsed)
    (entry,) = parsed.entries
    assert entry.answer == text.split("\n", 1)[1].rstrip("\n")


def test_crlf_line_endings_and_byte_order_mark() -> None:
    parsed = parse_faq_bytes("\ufeff## Q1?\r\nAlso asked: one | two\r\nA1.\r\n\r\n## Q2?\r\nA2."
                             .encode(), name="win.md")
    assert parsed.ok
    assert [(e.question, e.also_asked, e.answer, e.line) for e in parsed.entries] == [
        ("Q1?", ("one", "two"), "A1.", 1), ("Q2?", (), "A2.", 5)]


def test_also_asked_is_case_insensitive_and_repeats_within_an_entry_are_dropped() -> None:
    parsed = parse("## Do you ship?\nALSO ASKED: Shipping? | shipping | do you SHIP\nYes.\n")
    assert parsed.ok
    assert parsed.entries[0].also_asked == ("Shipping?",)


def test_normalised_questions_ignore_case_punctuation_and_spacing() -> None:
    assert normalise_question("What's the  COST?") == normalise_question("whats the cost")
    assert normalise_question("Délai — de livraison ?") == "délai de livraison"
    assert normalise_question("?!") == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("## Q?\n\n\n## R?\nA.\n", ["shop.md:1: empty answer: write the answer under the "
                                "question 'Q?'"]),
    ("## Q?\nAlso asked: x | y\n  \n", ["shop.md:1: empty answer: write the answer under the "
                                        "question 'Q?'"]),
    ("intro\n##\nA.\n", ["shop.md:2: empty question after '##'"]),
    ("## ##\nA.\n", ["shop.md:1: empty question after '##'"]),
    ("## ???\nA.\n", ["shop.md:1: the question has no letters or digits"]),
    ("## Q?\nAlso asked: a || b\nA.\n",
     ["shop.md:2: 'Also asked:' phrasing 2 of 3 is empty; separate phrasings with a single '|'"]),
    ("## Q?\nAlso asked: a | \nA.\n",
     ["shop.md:2: 'Also asked:' phrasing 2 of 2 is empty; separate phrasings with a single '|'"]),
    ("## Q?\nAlso asked:\nA.\n", ["shop.md:2: 'Also asked:' lists no phrasing"]),
    ("## Q?\n\nAlso asked: late\nA.\n",
     ["shop.md:3: 'Also asked:' must be on the line right after the question (line 1)"]),
    ("## Q?\nA.\n\n## q\nB.\n", ["shop.md:4: duplicate question 'q': already asked at line 1 "
                                  "as 'Q?'"]),
    ("## Ship?\nA.\n## Cost?\nAlso asked: SHIP\nB.\n",
     ["shop.md:4: duplicate question 'SHIP': already asked at line 1 as 'Ship?'"]),
    ("## Q?\n```\n## hidden?\nB.\n", ["shop.md:2: this code block is never closed, so every "
                                      "question after it is hidden in it"]),
    ("# Just a title\n\nSome notes.\n", ["shop.md:1: no entry: an entry starts with a line "
                                         "'## <question>'"]),
    ("", ["shop.md:1: no entry: an entry starts with a line '## <question>'"]),
])
def test_errors_name_file_and_line(text: str, expected: list[str]) -> None:
    parsed = parse(text)
    assert not parsed.ok
    assert messages(parsed) == expected


def test_every_problem_of_a_file_is_reported_in_line_order() -> None:
    parsed = parse("## A?\n\n## B?\nAlso asked: x || y\nb\n## a\nc\n")
    assert [p.line for p in parsed.problems] == [1, 4, 6]


def test_complete_entries_of_a_broken_file_are_kept_for_checks_but_it_is_not_ok() -> None:
    parsed = parse("## Good?\nYes.\n## Bad?\n")
    assert not parsed.ok
    assert [e.question for e in parsed.entries] == ["Good?"]


def test_size_limits_of_questions_phrasings_and_answers() -> None:
    long_q = "Q" * (MAX_QUESTION_CHARS + 1)
    assert messages(parse(f"## {long_q}\nA.\n")) == [
        f"shop.md:1: the question is {MAX_QUESTION_CHARS + 1} characters; "
        f"the limit is {MAX_QUESTION_CHARS}"]
    assert messages(parse(f"## Q?\nAlso asked: ok | {long_q}\nA.\n")) == [
        f"shop.md:2: 'Also asked:' phrasing 2 is {MAX_QUESTION_CHARS + 1} characters; "
        f"the limit is {MAX_QUESTION_CHARS}"]
    assert messages(parse("## Q?\n" + "a" * (MAX_ANSWER_CHARS + 1) + "\n")) == [
        f"shop.md:1: the answer is {MAX_ANSWER_CHARS + 1:,} characters; "
        f"the limit is {MAX_ANSWER_CHARS:,}"]
    assert parse(f"## {'Q' * MAX_QUESTION_CHARS}\n{'a' * MAX_ANSWER_CHARS}\n").ok
    many = " | ".join(f"way {i}" for i in range(21))
    assert messages(parse(f"## Q?\nAlso asked: {many}\nA.\n")) == [
        "shop.md:2: 21 'Also asked:' phrasings; the limit is 20"]


def test_file_over_one_mebibyte_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"## Q?\n" + b"a" * MAX_FILE_BYTES)
    parsed = read_faq_file(path)
    assert messages(parsed) == ["big.md:1: the file is larger than 1,048,576 bytes (1 MiB); "
                                "split it into several files"]


def test_file_that_is_not_utf8_is_refused_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("## Q?\nA.\n## Délai?\nB.\n".encode("latin-1"))
    parsed = read_faq_file(path)
    assert messages(parsed) == ["latin1.md:3: not valid UTF-8 (byte 0xE9 at column 5); "
                                "save the file as UTF-8"]


def test_unreadable_path_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    parsed = read_faq_file(tmp_path / "gone.md")
    assert [(p.file, p.line) for p in parsed.problems] == [("gone.md", 1)]
    assert "cannot read the file" in parsed.problems[0].message
