"""Adding an entry to one of the merchant's FAQ files from the back office.

The entry is appended in the files' own format (knowledge/faq_parser.py) only if the file
still parses without a problem afterwards, holds one entry more, and no file of the
directory asks the same question already; the file is replaced in one step (a hidden
temporary file renamed over it), so the FAQ watcher never reads half an entry, and it
serves the new entry at its next check.
"""

from __future__ import annotations

import os
from pathlib import Path

from knowledge.faq_library import check_directory, faq_files
from knowledge.faq_parser import (
    ALSO_ASKED,
    HEADING_RE,
    MAX_ANSWER_CHARS,
    MAX_FILE_BYTES,
    MAX_QUESTION_CHARS,
    normalise_question,
    parse_faq_text,
)


class FaqEntryRefused(ValueError):
    """The entry was not written; the message says why."""


def append_entry(*, directory: Path, file: str, question: str, answer: str) -> Path:
    """Append ``## question`` and its answer to ``file`` of the FAQ ``directory``.

    Raises:
        FaqEntryRefused: no such FAQ file, a question or answer out of bounds, an answer
            that would start another entry, a question the FAQ has already, or a file that
            would not parse.
    """
    paths = {path.name: path for path in faq_files(directory)}
    if file not in paths:
        raise FaqEntryRefused(f"Choose one of the FAQ files: {', '.join(sorted(paths))}.")
    question = " ".join(question.split())
    answer = answer.replace("\r\n", "\n").strip()
    if not 1 <= len(question) <= MAX_QUESTION_CHARS or question.startswith("#"):
        raise FaqEntryRefused(f"The question must be 1-{MAX_QUESTION_CHARS} characters of "
                              "text on one line.")
    if answer.lower().startswith(ALSO_ASKED):
        raise FaqEntryRefused("Other phrasings go in the file itself; the answer may not "
                              "begin with “Also asked:”.")
    if any(HEADING_RE.match(line) for line in answer.split("\n")):
        raise FaqEntryRefused("The answer may not hold a line starting with “## ”: that "
                              "starts another question.")
    if not 1 <= len(answer) <= MAX_ANSWER_CHARS:
        raise FaqEntryRefused(f"The answer must be 1-{MAX_ANSWER_CHARS} characters.")
    known = {normalise_question(phrasing)
             for entry in check_directory(directory)[0] for phrasing in entry.phrasings}
    if normalise_question(question) in known:
        raise FaqEntryRefused(f"The FAQ already answers “{question}”; edit that entry "
                              "instead.")
    path = paths[file]
    before = path.read_text(encoding="utf-8-sig")
    text = f"{before.rstrip()}\n\n## {question}\n{answer}\n"
    entries_before, _ = parse_faq_text(before, name=file)
    entries, problems = parse_faq_text(text, name=file)
    if problems:
        raise FaqEntryRefused(f"The file would not read: {problems[0]}")
    if len(entries) != len(entries_before) + 1:
        raise FaqEntryRefused("The answer would start another question.")
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise FaqEntryRefused(f"{file} would grow beyond {MAX_FILE_BYTES} bytes.")
    temporary = path.with_name(f".{file}.new")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path
