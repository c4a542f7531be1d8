"""``python -m knowledge check [DIR]``: validate the FAQ files before they go live.

Prints one line per problem, ``file.md:LINE: message`` (the format is described in
``knowledge.faq_parser``), and exits with 1 if there is any, 2 if the directory cannot be
read, 0 otherwise. DIR defaults to the ``faq_dir`` setting (``ATELIER_FAQ_DIR``).
Duplicates across files are reported on the file whose name sorts later, as the running
service does for files that arrive together.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from knowledge.config import get_settings
from knowledge.faq_library import check_directory, faq_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge check",
                                     description="Check the FAQ files for mistakes.")
    parser.add_argument("directory", nargs="?", type=Path,
                        help="the FAQ directory (default: the faq_dir setting)")
    args = parser.parse_args(argv)
    directory: Path = args.directory or get_settings().faq_dir
    entries, problems = check_directory(directory)
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    if any(problem.line is None for problem in problems):
        return 2
    files = len(faq_files(directory))
    summary = (f"{directory}: {len(entries)} entries in {files} file(s), "
               f"{len(problems)} problem(s)\n")
    (sys.stderr if problems else sys.stdout).write(summary)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
