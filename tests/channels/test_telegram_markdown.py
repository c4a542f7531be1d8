"""The bot's Markdown subset as Telegram HTML: escaped, balanced, and cut to fit."""

from __future__ import annotations

import html
from html.parser import HTMLParser

from channels.telegram.markdown import to_telegram_html
from channels.telegram.render import telegram_length

TELEGRAM_TAGS = {"b", "i", "a", "code", "pre"}


class TagChecker(HTMLParser):
    """Fails on any tag Telegram's HTML mode does not know, or on unbalanced ones."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, tag
        assert all(name == "href" for name, _ in attrs), attrs
        self.hrefs += [value or "" for _, value in attrs]
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(part: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(part)
    checker.close()
    assert checker.open == []
    return checker


def test_emphasis_links_lists_and_tables_become_telegram_tags() -> None:
    [part] = to_telegram_html(
        "Returns within **30 days** of _delivery_; see [our terms](https://shop.example/t?a=1&b=2)"
        " or write to [us](mailto:hi@shop.example).\n\n"
        "# Care\n- wipe with a `damp` cloth\n- dry flat\n\n"
        "| Size | Price |\n|---|---|\n| A4 | €20 |\n| A3 | **€30** |")
    assert part == (
        'Returns within <b>30 days</b> of <i>delivery</i>; see '
        '<a href="https://shop.example/t?a=1&amp;b=2">our terms</a> or write to '
        '<a href="mailto:hi@shop.example">us</a>.\n\n'
        "<b>Care</b>\n\n• wipe with a <code>damp</code> cloth\n• dry flat\n\n"
        "<pre>Size  Price\nA4    €20\nA3    €30</pre>")
    check(part)


def test_markup_in_the_text_is_escaped_and_unsafe_links_lose_their_address() -> None:
    hostile = ('<img src=x onerror="alert(1)"> <b>hi</b> & [click](javascript:alert(1)) '
               '[data](data:text/html,x) **unclosed and *stray* ` tick')
    [part] = to_telegram_html(hostile)
    checker = check(part)
    assert "<img" not in part and "&lt;img" in part and "&lt;b&gt;hi&lt;/b&gt; &amp;" in part
    assert checker.hrefs == []
    assert "".join(checker.text).startswith('<img src=x onerror="alert(1)"> <b>hi</b> & click')


def test_a_long_answer_is_cut_between_paragraphs_each_part_balanced() -> None:
    paragraph = "A **bold** start, then a sentence about glaze that goes on. " * 12
    text = "\n\n".join(f"{n}. {paragraph}" if n % 3 else paragraph for n in range(20))
    parts = to_telegram_html(text)
    assert len(parts) >= 3
    for part in parts:
        assert telegram_length(part) <= 4096
        check(part)
        assert not part.startswith("\n") and not part.endswith("\n")
    # no paragraph is cut: every part ends where a paragraph of the source ends
    rendered = "\n\n".join(parts)
    assert rendered.count("<b>bold</b>") == text.count("**bold**")


def test_a_single_paragraph_over_the_limit_is_cut_at_line_breaks() -> None:
    text = "\n".join(f"Line {i}: <glaze> & kiln notes that go on for a while." for i in range(150))
    parts = to_telegram_html(text)
    assert len(parts) >= 2 and all(telegram_length(p) <= 4096 for p in parts)
    assert html.unescape("\n".join(parts)) == text
