"""The bot's Markdown subset as Telegram HTML (``parse_mode="HTML"``), in parts that fit.

The FAQ's answers and the bot's replies are written in a small Markdown subset, the one
the web widget renders too: paragraphs, ``**bold**``/``__bold__``, ``*italic*``/
``_italic_``, ``code``, ``[links](https://…)`` (http, https and mailto only; any other
link keeps its text and loses its address), ``-``/``*``/``1.`` list items, ``#``
headings, pipe tables and fenced code. Telegram's HTML mode knows only a few tags, so:
bold and headings become ``<b>``, italics ``<i>``, code ``<code>``, a table or a code
block a ``<pre>`` (columns padded, as a monospace table reads), list items lines starting
with "•" or their number.

Every piece of text is escaped (``<``, ``>``, ``&``, and quotes in attributes), so
nothing a merchant or a shopper wrote can open a tag; emphasis is only recognised as a
complete pair, so each part's tags are balanced. A message longer than Telegram's 4096
characters is cut between blocks (paragraphs, list items, table rows), each part
rendered on its own so no tag spans two parts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from channels.telegram.render import MAX_TEXT, split_text, telegram_length

FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$")
BULLET_RE = re.compile(r"^( *)[-*+][ \t]+(.*)$")
NUMBERED_RE = re.compile(r"^( *)(\d{1,9})[.)][ \t]+(.*)$")
TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
INLINE_RE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
    r"|\*\*(?P<b1>\S(?:.*?\S)?)\*\*"
    r"|(?<!\w)__(?P<b2>\S(?:.*?\S)?)__(?!\w)"
    r"|(?<![\w*])\*(?P<i1>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])"
    r"|(?<!\w)_(?P<i2>[^\s_](?:[^_]*?[^\s_])?)_(?!\w)",
    re.DOTALL)
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def safe_url(url: str) -> str | None:
    """The link's address if it may be followed (http, https or mailto), else None."""
    stripped = url.strip()
    return stripped if stripped.lower().startswith(SAFE_SCHEMES) else None


def inline(text: str, *, code: Callable[[str], str] | None = None) -> str:
    """Inline Markdown of one block as escaped Telegram HTML."""
    out: list[str] = []
    position = 0
    for match in INLINE_RE.finditer(text):
        out.append(html.escape(text[position:match.start()], quote=False))
        position = match.end()
        groups = match.groupdict()
        if groups["code"] is not None:
            out.append(f"<code>{html.escape(groups['code'], quote=False)}</code>")
        elif groups["label"] is not None:
            url = safe_url(groups["url"])
            label = inline(groups["label"])
            out.append(f'<a href="{html.escape(url, quote=True)}">{label}</a>' if url
                       else label)
        elif (bold := groups["b1"] or groups["b2"]) is not None:
            out.append(f"<b>{inline(bold)}</b>")
        else:
            out.append(f"<i>{inline(groups['i1'] or groups['i2'])}</i>")
    out.append(html.escape(text[position:], quote=False))
    return "".join(out)


def plain(text: str) -> str:
    """Inline Markdown reduced to its text (for table cells inside ``<pre>``)."""
    def keep(match: re.Match[str]) -> str:
        groups = match.groupdict()
        for name in ("code", "b1", "b2", "i1", "i2"):
            if groups[name] is not None:
                return plain(groups[name]) if name != "code" else groups[name]
        return plain(groups["label"])
    return INLINE_RE.sub(keep, text)


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row.removeprefix("|").removesuffix("|")
    return [plain(cell.strip()) for cell in row.split("|")]


def table(rows: list[str]) -> str:
    """A pipe table as a padded monospace block."""
    cells = [_cells(r) for r in rows if not TABLE_RULE_RE.match(r)]
    width = max(len(r) for r in cells)
    cells = [r + [""] * (width - len(r)) for r in cells]
    widths = [max(len(r[i]) for r in cells) for i in range(width)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    return f"<pre>{html.escape(chr(10).join(lines), quote=False)}</pre>"


def blocks(markdown: str, limit: int = MAX_TEXT) -> list[tuple[str, str]]:
    """The text cut into blocks, each rendered to HTML on its own, with the separator that
    goes before it: a blank line, or a line break between list items and between the
    pieces of a paragraph too long for one message (cut at a line break or a space, into
    pieces that stay within the limit even if escaping makes every character five)."""
    out: list[tuple[str, str]] = []
    lines = markdown.replace("\r\n", "\n").split("\n")
    paragraph: list[str] = []
    index = 0

    def flush() -> None:
        if paragraph:
            source = "\n".join(paragraph)
            pieces = [source] if telegram_length(inline(source)) <= limit else split_text(
                source, limit // 5)
            out.extend((inline(piece), "\n" if number else "\n\n")
                       for number, piece in enumerate(pieces))
            paragraph.clear()

    while index < len(lines):
        line = lines[index]
        fence = FENCE_RE.match(line)
        if fence:
            flush()
            closing = fence.group(1)
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(closing):
                body.append(lines[index])
                index += 1
            out.append((f"<pre>{html.escape(chr(10).join(body), quote=False)}</pre>", "\n\n"))
        elif line.lstrip().startswith("|"):
            flush()
            rows = []
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(lines[index])
                index += 1
            out.append((table(rows), "\n\n"))
            continue
        elif not line.strip():
            flush()
        elif heading := HEADING_RE.match(line):
            flush()
            out.append((f"<b>{inline(heading.group(1))}</b>", "\n\n"))
        elif bullet := BULLET_RE.match(line):
            flush()
            out.append((f"{bullet.group(1)}• {inline(bullet.group(2))}", _item_separator(out)))
        elif numbered := NUMBERED_RE.match(line):
            flush()
            out.append((f"{numbered.group(1)}{numbered.group(2)}. {inline(numbered.group(3))}",
                        _item_separator(out)))
        else:
            paragraph.append(line.strip())
        index += 1
    flush()
    return out


def _item_separator(previous: list[tuple[str, str]]) -> str:
    """List items follow each other on consecutive lines."""
    if previous and (previous[-1][0].lstrip().startswith("• ")
                     or re.match(r"^ *\d+\. ", previous[-1][0])):
        return "\n"
    return "\n\n"


def to_telegram_html(markdown: str, limit: int = MAX_TEXT) -> list[str]:
    """The text as Telegram HTML parts of at most ``limit`` characters each, cut between
    blocks. A block still too long (a huge table or code block) loses its formatting and
    is cut as plain text."""
    parts: list[str] = []
    current = ""
    for block, separator in blocks(markdown, limit):
        pieces = [block] if telegram_length(block) <= limit else [
            html.escape(piece, quote=False)
            for piece in split_text(html.unescape(re.sub(r"<[^>]+>", "", block)), limit // 5)]
        for piece in pieces:
            candidate = f"{current}{separator}{piece}" if current else piece
            if telegram_length(candidate) > limit:
                parts.append(current)
                candidate = piece
            current = candidate
    if current:
        parts.append(current)
    return parts
