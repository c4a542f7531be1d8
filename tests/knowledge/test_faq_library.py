"""A FAQ directory across edits: last good versions, duplicates across files, removals."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from knowledge.faq_library import FaqLibrary, check_directory


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def served(library: FaqLibrary) -> dict[str, str]:
    return {e.question: e.answer for e in library.entries}


def test_a_broken_file_keeps_serving_its_last_good_version(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # given
    path = write(tmp_path, "shipping.md", "## Ship?\nYes, in 2 days.\n")
    library = FaqLibrary(tmp_path)
    library.scan()
    # when the merchant saves a mistake
    write(tmp_path, "shipping.md", "## Ship?\nYes, in 3 days.\n\n## Returns?\n\n")
    with caplog.at_level(logging.INFO, logger="knowledge.faq_library"):
        result = library.scan()
    # then the old answer stays, and the problem is reported with file and line
    assert result.reparsed == ("shipping.md",)
    assert served(library) == {"Ship?": "Yes, in 2 days."}
    assert [str(p) for p in library.problems] == [
        "shipping.md:4: empty answer: write the answer under the question 'Returns?'"]
    assert "faq: shipping.md:4: empty answer" in caplog.text
    assert "its last good version (1 entries) keeps serving" in caplog.text
    # when it is fixed
    path.write_text("## Ship?\nYes, in 3 days.\n\n## Returns?\n30 days.\n", encoding="utf-8")
    library.scan()
    # then the new version serves and the problem is gone
    assert served(library) == {"Ship?": "Yes, in 3 days.", "Returns?": "30 days."}
    assert library.problems == []


def test_a_new_broken_file_contributes_nothing_until_fixed(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "## A?\nA.\n")
    library = FaqLibrary(tmp_path)
    library.scan()
    write(tmp_path, "b.md", "## B?\nB.\n## C?\n")
    library.scan()
    assert served(library) == {"A?": "A."}
    assert [str(p) for p in library.problems] == [
        "b.md:3: empty answer: write the answer under the question 'C?'"]
    write(tmp_path, "b.md", "## B?\nB.\n## C?\nC.\n")
    library.scan()
    assert served(library) == {"A?": "A.", "B?": "B.", "C?": "C."}


def test_duplicate_across_files_arriving_together_goes_to_the_first_file_by_name(
        tmp_path: Path) -> None:
    write(tmp_path, "b.md", "## Other?\nO.\n\n## How much is shipping?\nFrom b.\n")
    write(tmp_path, "a.md", "## How much is SHIPPING\nFrom a.\n")
    library = FaqLibrary(tmp_path)
    library.scan()
    assert served(library) == {"How much is SHIPPING": "From a.", "Other?": "O."}
    assert [str(p) for p in library.problems] == [
        "b.md:4: duplicate question 'How much is shipping?': already answered by a.md:1; "
        "this entry is not served"]


def test_duplicate_across_files_stays_with_the_file_that_had_it_first(tmp_path: Path) -> None:
    # given z.md has the question first
    write(tmp_path, "z.md", "## Gift wrap?\nFrom z.\n")
    library = FaqLibrary(tmp_path)
    library.scan()
    # when a.md, which sorts first, adds it later
    write(tmp_path, "a.md", "## Hours?\n9 to 5.\n\n## gift wrap\nFrom a.\n")
    library.scan()
    # then z.md keeps it and a.md's entry is reported, the rest of a.md serves
    assert served(library) == {"Gift wrap?": "From z.", "Hours?": "9 to 5."}
    assert [str(p) for p in library.problems] == [
        "a.md:4: duplicate question 'gift wrap': already answered by z.md:1; "
        "this entry is not served"]
    # when z.md drops it, a.md's entry takes over
    write(tmp_path, "z.md", "## Something else?\nS.\n")
    library.scan()
    assert served(library)["gift wrap"] == "From a."
    assert library.problems == []


def test_also_asked_clashing_with_another_files_question_is_dropped_not_the_entry(
        tmp_path: Path) -> None:
    write(tmp_path, "a.md", "## Do you ship abroad?\nYes.\n")
    write(tmp_path, "b.md", "## Shipping costs?\nAlso asked: do you ship abroad | postage?\n"
                            "From 4.90.\n")
    library = FaqLibrary(tmp_path)
    library.scan()
    costs = next(e for e in library.entries if e.question == "Shipping costs?")
    assert costs.also_asked == ("postage?",)
    assert [str(p) for p in library.problems] == [
        "b.md:2: duplicate question 'do you ship abroad': the question at a.md:1; "
        "this phrasing is ignored here"]


def test_removed_files_stop_serving_and_unchanged_files_are_not_reparsed(
        tmp_path: Path) -> None:
    a = write(tmp_path, "a.md", "## A?\nA.\n")
    write(tmp_path, "b.md", "## B?\nB.\n")
    write(tmp_path, "notes.txt", "## Not read?\nNo.\n")
    write(tmp_path, ".draft.md", "## Hidden?\nNo.\n")
    library = FaqLibrary(tmp_path)
    assert set(library.scan().reparsed) == {"a.md", "b.md"}
    # touching a file without changing its bytes changes nothing
    os.utime(a)
    assert not library.scan().changed
    (tmp_path / "b.md").unlink()
    result = library.scan()
    assert result.removed == ("b.md",)
    assert served(library) == {"A?": "A."}


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "## A?\nOne.\n")
    stat = path.stat()
    library = FaqLibrary(tmp_path)
    library.scan()
    path.write_text("## A?\nTwo.\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same tick, same size
    assert library.scan().reparsed == ("a.md",)
    assert served(library) == {"A?": "Two."}


def test_a_directory_that_cannot_be_listed_keeps_what_is_served(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    write(faq, "a.md", "## A?\nA.\n")
    library = FaqLibrary(faq)
    library.scan()
    faq.rename(tmp_path / "moved")
    assert not library.scan().changed
    assert served(library) == {"A?": "A."}
    assert [p.message for p in library.problems][0].startswith("cannot list the FAQ directory")


def test_check_directory_reports_duplicates_with_broken_files_too(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "## Ship?\nYes.\n## Broken?\n")
    write(tmp_path, "b.md", "## ship\nAlso yes.\n")
    entries, problems = check_directory(tmp_path)
    assert [e.source for e in entries] == ["b.md:1"]  # what would serve right now
    assert [str(p) for p in problems] == [
        "a.md:3: empty answer: write the answer under the question 'Broken?'",
        "b.md:1: duplicate question 'ship': already answered by a.md:1; "
        "this entry would be left out"]
    assert [str(p) for p in check_directory(tmp_path / "nope")[1]] == [
        f"{tmp_path / 'nope'}: no such directory"]
