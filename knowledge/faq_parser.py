"""The merchant's FAQ files: their format, and a parser that reports every mistake by line.

The FAQ lives in a directory (``knowledge/faq/`` by default; setting ``faq_dir``,
environment variable ``ATELIER_FAQ_DIR``). Every ``*.md`` file directly in it is read;
subdirectories, other extensions and hidden files (names starting with ``.``, such as
editor swap files) are ignored. A file holds any number of entries::

    # Shipping                            <- text before the first entry is ignored

    ## How long does shipping take?       <- the question: a level-2 heading
    Also asked: delivery time? | When will my parcel arrive?
    Parcels to France take **2–3 days**.  <- the answer: Markdown, up to the next "## "

    ## Do you ship abroad?
    ...

Rules:

- An entry starts with a level-2 heading holding the question: a line ``## Question``
  (up to three spaces of indentation, as in Markdown; an optional closing ``##`` is
  dropped). ``###`` and deeper headings, and ``## `` lines inside a fenced code block
  (```` ``` ```` or ``~~~``), belong to the answer.
- The line right after the heading may start with ``Also asked:`` (any letter case) and
  list other phrasings of the question separated by ``|``. An ``Also asked:`` line
  anywhere else is an error rather than answer text.
- Everything after that, up to the next entry, is the answer in Markdown; blank lines
  around it are dropped.
- Files must be UTF-8 (a byte-order mark is allowed), at most 1 MiB.
- A question or phrasing is at most 300 characters, an answer at most 20,000, and an
  entry has at most 20 ``Also asked`` phrasings.
- Questions and phrasings are compared ignoring letter case, accents are kept, and
  punctuation and spacing are ignored: "What's the cost?" and "whats the COST" are the
  same question. The same question twice is an error, within a file and across files.

Problems are reported as ``file.md:LINE: message``: an empty question or answer, an
empty ``Also asked`` phrasing, a duplicate question, a file that is not UTF-8, too large,
holds no entry, or leaves a code block open.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 1_048_576
MAX_QUESTION_CHARS = 300
MAX_ANSWER_CHARS = 20_000
MAX_ALSO_ASKED = 20
ALSO_ASKED = "also asked:"

HEADING_RE = re.compile(r"^ {0,3}##(?:[ \t]+(.*?))?[ \t]*$")
CLOSING_HASHES_RE = re.compile(r"(?:^|[ \t]+)#+$")
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
APOSTROPHES_RE = re.compile(r"['’`´]")
WORD_RE = re.compile(r"\w+")


def normalise_question(text: str) -> str:
    """The form two questions are compared in: case, punctuation and spacing ignored."""
    folded = APOSTROPHES_RE.sub("", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(WORD_RE.findall(folded.replace("_", " ")))


@dataclass(frozen=True)
class FaqProblem:
    """One mistake in a FAQ file; ``line`` is 1-based (None: the directory itself)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class FaqEntry:
    question: str
    """The heading text as the merchant wrote it."""
    also_asked: tuple[str, ...]
    answer: str
    file: str
    line: int
    """Line of the heading."""
    also_line: int | None = None
    """Line of the ``Also asked:`` list, if any."""

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The question first, then its other phrasings."""
        return (self.question, *self.also_asked)


@dataclass(frozen=True)
class FaqFile:
    """One parsed file: its problems, and the entries that are complete in themselves
    (served only if the file has no problem at all)."""

    name: str
    digest: str
    entries: tuple[FaqEntry, ...] = ()
    problems: tuple[FaqProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def read_limited(path: Path) -> bytes:
    """A file's bytes, at most one past the size limit (enough to tell it is too large)."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def unreadable(path: Path, error: OSError) -> FaqFile:
    return FaqFile(name=path.name, digest="",
                   problems=(FaqProblem(path.name, 1, f"cannot read the file: {error}"),))


def read_faq_file(path: Path) -> FaqFile:
    """Read and parse one file."""
    try:
        data = read_limited(path)
    except OSError as exc:
        return unreadable(path, exc)
    return parse_faq_bytes(data, name=path.name)


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_faq_bytes(data: bytes, *, name: str) -> FaqFile:
    """Check size and encoding, then parse."""
    digest = digest_of(data)
    if len(data) > MAX_FILE_BYTES:
        return FaqFile(name=name, digest=digest, problems=(FaqProblem(
            name, 1, f"the file is larger than {MAX_FILE_BYTES:,} bytes (1 MiB); "
                     "split it into several files"),))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return FaqFile(name=name, digest=digest, problems=(FaqProblem(
            name, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at column "
                        f"{column}); save the file as UTF-8"),))
    entries, problems = parse_faq_text(text.removeprefix("\ufeff"), name=name)
    return FaqFile(name=name, digest=digest, entries=tuple(entries), problems=tuple(problems))


@dataclass
class _Draft:
    line: int
    question: str
    also_asked: list[str] = field(default_factory=list)
    also_line: int | None = None
    body: list[str] = field(default_factory=list)


def _heading(line: str) -> str | None:
    """The question of a level-2 heading line, or None if the line is not one."""
    match = HEADING_RE.match(line)
    if match is None:
        return None
    return CLOSING_HASHES_RE.sub("", (match.group(1) or "").strip()).strip()


def parse_faq_text(text: str, *, name: str) -> tuple[list[FaqEntry], list[FaqProblem]]:
    """Parse a file's text into entries; every problem found is returned, in line order."""
    problems: list[FaqProblem] = []
    drafts: list[_Draft] = []
    fence: tuple[str, int, int] | None = None  # (char, length, line) of an open code block
    lines = [raw.removesuffix("\r") for raw in text.split("\n")]
    for number, line in enumerate(lines, start=1):
        fence_match = FENCE_RE.match(line)
        if fence is not None:
            if (fence_match and fence_match.group(1)[0] == fence[0]
                    and len(fence_match.group(1)) >= fence[1]
                    and not line.strip().lstrip(fence[0])):
                fence = None
        elif fence_match:
            fence = (fence_match.group(1)[0], len(fence_match.group(1)), number)
        else:
            question = _heading(line)
            if question is not None:
                drafts.append(_Draft(line=number, question=question))
                continue
        if not drafts:
            continue  # text before the first entry
        draft = drafts[-1]
        is_also = line.lstrip().lower().startswith(ALSO_ASKED) and fence is None
        if is_also and number == draft.line + 1:
            draft.also_line = number
            _parse_also_asked(line, draft, name, problems)
        elif is_also:
            problems.append(FaqProblem(name, number, "'Also asked:' must be on the line right "
                                                     f"after the question (line {draft.line})"))
        else:
            draft.body.append(line)
    if fence is not None:
        problems.append(FaqProblem(name, fence[2], "this code block is never closed, so "
                                                   "every question after it is hidden in it"))
    if not drafts:
        problems.append(FaqProblem(name, 1, "no entry: an entry starts with a line "
                                            "'## <question>'"))
    _check_duplicates(drafts, name, problems)
    entries = [entry for draft in drafts
               if (entry := _finish(draft, name, problems)) is not None]
    problems.sort(key=lambda p: p.line or 0)
    return entries, problems


def _parse_also_asked(line: str, draft: _Draft, name: str,
                      problems: list[FaqProblem]) -> None:
    listed = line.lstrip()[len(ALSO_ASKED):].split("|")
    if len(listed) == 1 and not listed[0].strip():
        problems.append(FaqProblem(name, draft.also_line, "'Also asked:' lists no phrasing"))
        return
    for position, phrasing in enumerate(listed, start=1):
        phrasing = phrasing.strip()
        if not normalise_question(phrasing):
            problems.append(FaqProblem(name, draft.also_line, (
                f"'Also asked:' phrasing {position} of {len(listed)} is empty; "
                "separate phrasings with a single '|'")))
        elif len(phrasing) > MAX_QUESTION_CHARS:
            problems.append(FaqProblem(name, draft.also_line, (
                f"'Also asked:' phrasing {position} is {len(phrasing)} characters; "
                f"the limit is {MAX_QUESTION_CHARS}")))
        else:
            draft.also_asked.append(phrasing)
    if len(listed) > MAX_ALSO_ASKED:
        problems.append(FaqProblem(name, draft.also_line, (
            f"{len(listed)} 'Also asked:' phrasings; the limit is {MAX_ALSO_ASKED}")))


def _finish(draft: _Draft, name: str, problems: list[FaqProblem]) -> FaqEntry | None:
    body = draft.body
    start, end = 0, len(body)
    while start < end and not body[start].strip():
        start += 1
    while end > start and not body[end - 1].strip():
        end -= 1
    answer = "\n".join(body[start:end])
    ok = True
    if not draft.question:
        problems.append(FaqProblem(name, draft.line, "empty question after '##'"))
        ok = False
    elif not normalise_question(draft.question):
        problems.append(FaqProblem(name, draft.line, "the question has no letters or digits"))
        ok = False
    elif len(draft.question) > MAX_QUESTION_CHARS:
        problems.append(FaqProblem(name, draft.line, (
            f"the question is {len(draft.question)} characters; "
            f"the limit is {MAX_QUESTION_CHARS}")))
        ok = False
    if not answer:
        problems.append(FaqProblem(name, draft.line, (
            f"empty answer: write the answer under the question {draft.question!r}")))
        ok = False
    elif len(answer) > MAX_ANSWER_CHARS:
        problems.append(FaqProblem(name, draft.line, (
            f"the answer is {len(answer):,} characters; the limit is {MAX_ANSWER_CHARS:,}")))
        ok = False
    if not ok:
        return None
    phrasings: dict[str, str] = {normalise_question(draft.question): draft.question}
    for phrasing in draft.also_asked:  # repeats within one entry are harmless: dropped
        phrasings.setdefault(normalise_question(phrasing), phrasing)
    return FaqEntry(question=draft.question, also_asked=tuple(phrasings.values())[1:],
                    answer=answer, file=name, line=draft.line, also_line=draft.also_line)


def _check_duplicates(drafts: list[_Draft], name: str, problems: list[FaqProblem]) -> None:
    """A phrasing may belong to one entry only: otherwise which answer would it get?"""
    seen: dict[str, tuple[str, int]] = {}
    for draft in drafts:
        own: set[str] = set()
        written = [(draft.question, draft.line)]
        written += [(p, draft.also_line or draft.line) for p in draft.also_asked]
        for phrasing, line in written:
            key = normalise_question(phrasing)
            if not key or key in own:
                continue  # empty: reported already; repeated within the entry: harmless
            own.add(key)
            first = seen.get(key)
            if first is None:
                seen[key] = (phrasing, line)
            else:
                problems.append(FaqProblem(name, line, (
                    f"duplicate question {phrasing!r}: already asked at line {first[1]} "
                    f"as {first[0]!r}")))
