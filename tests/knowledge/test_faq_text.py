"""FAQ answers with the source file's line wraps removed and the layout kept."""

from __future__ import annotations

from knowledge.faq_text import join_paragraphs


def test_wrapped_lines_join_and_blank_lines_stay_paragraphs() -> None:
    source = ("If a piece isn't right, return it **within 30 days**, as\n"
              "long as it's unused.\n\n\n"
              "Return postage is yours\nto pay.\n")
    assert join_paragraphs(source) == ("If a piece isn't right, return it **within 30 days**, "
                                       "as long as it's unused.\n\n"
                                       "Return postage is yours to pay.")


def test_list_items_table_rows_headings_and_code_keep_their_lines() -> None:
    source = ("The basic service covers:\n\n"
              "- gears and brakes\n  adjusted\n"
              "- a test ride\n"
              "1. first\n\n"
              "| Day | Hours |\n|---|---|\n| Tue | 8:30 |\n"
              "### Note\n"
              "```\nkeep   this\nas is\n```\n"
              "Line one  \nline two\\\nline three")
    assert join_paragraphs(source).split("\n") == [
        "The basic service covers:", "",
        "- gears and brakes adjusted", "- a test ride", "1. first", "",
        "| Day | Hours |", "|---|---|", "| Tue | 8:30 |",
        "### Note",
        "```", "keep   this", "as is", "```",
        "Line one", "line two", "line three"]
