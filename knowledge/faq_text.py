"""An FAQ answer as the shopper should read it: paragraphs joined as the merchant wrote them.

Merchants wrap their Markdown at some width in their editor; those line breaks mean
nothing, and a chat bubble or a Telegram message would show them as ragged lines. Here a
line that continues a paragraph (or a list item) is joined to it with a space, as any
Markdown renderer does, while what the layout needs is kept: blank lines between
paragraphs (one), list items, table rows, headings, block quotes, fenced code blocks
verbatim, and hard breaks (a line ending in two spaces or a backslash).
"""

from __future__ import annotations

import re

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
LIST_ITEM_RE = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S")
BLOCK_START_RE = re.compile(r"^ {0,3}(?:#{1,6}[ \t]|>|\||(?:[-*_][ \t]*){3,}$)")


def _own_line(line: str) -> bool:
    """A line that starts a block of its own rather than continuing a paragraph."""
    return bool(LIST_ITEM_RE.match(line) or BLOCK_START_RE.match(line))


def _hard_break(line: str) -> bool:
    return line.endswith("  ") or line.endswith("\\")


def join_paragraphs(markdown: str) -> str:
    """The answer with soft line breaks removed (see the module docstring)."""
    out: list[str] = []
    verbatim: set[int] = set()  # indices of the lines of fenced code blocks
    fence: str | None = None
    joinable = False  # whether the last output line is a paragraph or list item to continue
    for line in markdown.replace("\r\n", "\n").split("\n"):
        if fence is not None:
            verbatim.add(len(out))
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
            continue
        match = FENCE_RE.match(line)
        if match:
            fence = match.group(1)[0] * len(match.group(1))
            verbatim.add(len(out))
            out.append(line)
            joinable = False
        elif not line.strip():
            if out and out[-1] != "":
                out.append("")
            joinable = False
        elif joinable and not _own_line(line) and not _hard_break(out[-1]):
            out[-1] = f"{out[-1].rstrip()} {line.lstrip()}"
        else:
            out.append(line if _own_line(line) else line.lstrip())
            joinable = not BLOCK_START_RE.match(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(line if number in verbatim
                     else line.rstrip().removesuffix("\\").rstrip()
                     for number, line in enumerate(out))
