"""The FAQ entries served from one directory, kept file by file across edits.

A scan looks at every ``*.md`` file's size, modification time and inode, and re-reads only
the files whose signature moved, or that were modified less than two seconds before they
were last read (two edits in one clock tick can leave the signature unchanged); a file
whose bytes (SHA-256) did not change is not parsed again.
A file with problems does not replace the last version of it that had none: that last
good version keeps serving until the file is fixed, and a new broken file serves nothing.

The same question in two files is reported on the entry of the file that got it later
(or, when both came in the same scan, of the file whose name sorts later); that entry is
left out and the rest of its file keeps serving. An ``Also asked`` phrasing that clashes
with another file's question or phrasing is dropped the same way, its entry kept.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from knowledge.faq_parser import (
    FaqEntry,
    FaqFile,
    FaqProblem,
    digest_of,
    normalise_question,
    parse_faq_bytes,
    read_limited,
    unreadable,
)

log = logging.getLogger(__name__)
Signature = tuple[int, int, int]
RACY_NS = 2_000_000_000


@dataclass
class _Tracked:
    signature: Signature
    read_at_ns: int
    """When the file was last read; a signature is trusted only once the file's mtime is
    well before that (an edit in the same clock tick keeps mtime and maybe size)."""
    latest: FaqFile
    """What the file holds now, problems and all."""
    good: FaqFile | None
    """The last version without problems: what this file serves."""


@dataclass(frozen=True)
class ScanResult:
    reparsed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.reparsed or self.removed)


def faq_files(directory: Path) -> list[Path]:
    """The files the FAQ is read from, sorted by name."""
    return sorted(
        (p for p in directory.iterdir()
         if p.suffix == ".md" and not p.name.startswith(".") and p.is_file()),
        key=lambda p: p.name)


def _signature(stat: os.stat_result) -> Signature:
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class FaqLibrary:
    """Not thread-safe: one scanner at a time (the FAQ service holds a lock around it)."""

    def __init__(self, directory: Path, *, log_changes: bool = True) -> None:
        self.directory = directory
        self._log_changes = log_changes
        self._files: dict[str, _Tracked] = {}
        self._since: dict[tuple[str, str], int] = {}
        """(file, normalised question) → the scan in which that file first served it."""
        self._generation = 0
        self._directory_problem: FaqProblem | None = None
        self.entries: tuple[FaqEntry, ...] = ()
        self.duplicates: tuple[FaqProblem, ...] = ()

    @property
    def problems(self) -> list[FaqProblem]:
        """Every current problem: the directory's, each file's, then duplicates across files."""
        found = [self._directory_problem] if self._directory_problem else []
        for name in sorted(self._files):
            found.extend(self._files[name].latest.problems)
        return found + list(self.duplicates)

    @property
    def file_names(self) -> list[str]:
        return sorted(self._files)

    def serving_version(self, name: str) -> FaqFile | None:
        """The version of a file whose entries are served (its last good one)."""
        tracked = self._files.get(name)
        return tracked.good if tracked else None

    def latest_version(self, name: str) -> FaqFile | None:
        """The file as last read, problems and all."""
        tracked = self._files.get(name)
        return tracked.latest if tracked else None

    def scan(self) -> ScanResult:
        """Pick up added, changed and removed files; recompute the served entries if any."""
        try:
            paths = {p.name: p for p in faq_files(self.directory)}
            self._set_directory_problem(None)
        except OSError as exc:  # not the same as every file removed: keep serving them
            self._set_directory_problem(FaqProblem(str(self.directory), None,
                                                   f"cannot list the FAQ directory: {exc}"))
            return ScanResult()
        self._generation += 1
        reparsed = [name for name, path in paths.items() if self._refresh(name, path)]
        removed = [name for name in self._files if name not in paths]
        for name in removed:
            del self._files[name]
            self._emit(logging.INFO, "faq: %s removed; its entries are no longer served", name)
        result = ScanResult(tuple(reparsed), tuple(removed))
        if result.changed:
            self._resolve()
        return result

    def _set_directory_problem(self, problem: FaqProblem | None) -> None:
        if problem is not None and problem != self._directory_problem:
            self._emit(logging.ERROR, "faq: %s", problem)
        self._directory_problem = problem

    def _refresh(self, name: str, path: Path) -> bool:
        """Re-read the file if its signature moved; True if its content changed."""
        try:
            before = _signature(path.stat())
        except OSError:
            return False  # vanished between listing and stat: the next scan sees it gone
        tracked = self._files.get(name)
        if (tracked is not None and tracked.signature == before
                and before[0] < tracked.read_at_ns - RACY_NS):
            return False
        read_at_ns = time.time_ns()
        try:
            data = read_limited(path)
            after = _signature(path.stat())
        except OSError as exc:
            parsed, after = unreadable(path, exc), before
        else:
            if after != before:
                return False  # written to while we read it: read it again next scan
            if tracked is not None and tracked.latest.digest == digest_of(data):
                tracked.signature, tracked.read_at_ns = after, read_at_ns  # same bytes
                return False
            parsed = parse_faq_bytes(data, name=name)
        good = parsed if parsed.ok else (tracked.good if tracked else None)
        self._files[name] = _Tracked(signature=after, read_at_ns=read_at_ns, latest=parsed,
                                     good=good)
        self._log_outcome(parsed, good)
        return True

    def _emit(self, level: int, message: str, *args: object) -> None:
        if self._log_changes:  # one-off checks print their problems instead
            log.log(level, message, *args)

    def _log_outcome(self, parsed: FaqFile, good: FaqFile | None) -> None:
        if parsed.ok:
            self._emit(logging.INFO, "faq: loaded %s (%d entries)", parsed.name,
                       len(parsed.entries))
            return
        for problem in parsed.problems:
            self._emit(logging.ERROR, "faq: %s", problem)
        if good is None:
            self._emit(logging.ERROR, "faq: %s has %d problem(s) and serves nothing until "
                       "they are fixed", parsed.name, len(parsed.problems))
        else:
            self._emit(logging.ERROR, "faq: %s has %d problem(s); its last good version (%d "
                       "entries) keeps serving", parsed.name, len(parsed.problems),
                       len(good.entries))

    def _resolve(self) -> None:
        """Choose the served entries: each question goes to the file that had it first."""
        files = [t.good for _, t in sorted(self._files.items()) if t.good is not None]
        present = {(f.name, normalise_question(p)) for f in files for e in f.entries
                   for p in e.phrasings}
        for key in present:
            self._since.setdefault(key, self._generation)
        for key in [k for k in self._since if k not in present]:
            del self._since[key]
        entries, duplicates = resolve_duplicates(
            files, since=lambda file, key: self._since[(file, key)])
        for problem in duplicates:
            if problem not in self.duplicates:
                self._emit(logging.WARNING, "faq: %s", problem)
        self.entries = tuple(entries)
        self.duplicates = tuple(duplicates)


def resolve_duplicates(files: Iterable[FaqFile], *, since: Callable[[str, str], int],
                       checking: bool = False) -> tuple[list[FaqEntry], list[FaqProblem]]:
    """Settle questions and phrasings found in more than one file.

    A question (heading) belongs to the file with the smallest ``since(file, key)``, then
    the first by name; the other entries with it are left out. An ``Also asked`` phrasing
    that is another entry's question, or the phrasing of an entry whose file had it first,
    is dropped from its entry, which keeps serving. Each leftover is reported (as what
    would happen when ``checking`` files that may not all serve yet).
    """
    left_out = "would be left out" if checking else "is not served"
    ignored = "would be ignored here" if checking else "is ignored here"
    entries = [e for f in files for e in f.entries]

    def rank(entry: FaqEntry, key: str) -> tuple[int, str, int]:
        return (since(entry.file, key), entry.file, entry.line)

    owners: dict[str, FaqEntry] = {}
    for entry in entries:
        key = normalise_question(entry.question)
        if key not in owners or rank(entry, key) < rank(owners[key], key):
            owners[key] = entry
    problems: list[FaqProblem] = []
    kept: list[FaqEntry] = []
    for entry in entries:
        owner = owners[normalise_question(entry.question)]
        if owner is entry:
            kept.append(entry)
        elif owner.file != entry.file:  # within a file, the parser reported it already
            problems.append(FaqProblem(entry.file, entry.line, (
                f"duplicate question {entry.question!r}: already answered by "
                f"{owner.source}; this entry {left_out}")))
    phrasing_owner: dict[str, FaqEntry] = {}
    for entry in kept:
        for phrasing in entry.also_asked:
            key = normalise_question(phrasing)
            if key in owners:
                continue
            if key not in phrasing_owner or rank(entry, key) < rank(phrasing_owner[key], key):
                phrasing_owner[key] = entry
    served: list[FaqEntry] = []
    for entry in kept:
        also: list[str] = []
        for phrasing in entry.also_asked:
            key = normalise_question(phrasing)
            other = owners.get(key) or phrasing_owner[key]
            if other is entry:
                also.append(phrasing)
                continue
            what = "the question" if key in owners else "also asked"
            if other.file == entry.file:
                continue
            problems.append(FaqProblem(entry.file, entry.also_line or entry.line, (
                f"duplicate question {phrasing!r}: {what} at {other.source}; "
                f"this phrasing {ignored}")))
        served.append(replace(entry, also_asked=tuple(also)))
    problems.sort(key=lambda p: (p.file, p.line or 0))
    return served, problems


def check_directory(directory: Path) -> tuple[list[FaqEntry], list[FaqProblem]]:
    """One scan of a directory from scratch, without logging: what it would serve, and
    every problem, including duplicates with the complete entries of broken files."""
    if not directory.is_dir():
        return [], [FaqProblem(str(directory), None, "no such directory")]
    library = FaqLibrary(directory, log_changes=False)
    library.scan()
    latest = [library.latest_version(name) for name in library.file_names]
    _, duplicates = resolve_duplicates([f for f in latest if f is not None],
                                       since=lambda _file, _key: 0, checking=True)
    file_problems = [p for p in library.problems if p not in library.duplicates]
    return list(library.entries), file_problems + duplicates
