"""The back office's search synonyms: beside each search that found nothing, a form that
maps the shopper's words to a catalog term (its category, type or another attribute
value), and the list of the synonyms kept, each with a button that removes it."""

from __future__ import annotations

from collections.abc import Sequence

from channels.merchant.html import Html, button_form, h, join, table
from commerce_core.models import SearchSynonym
from knowledge.synonyms import MAX_PHRASE, MAX_VALUE
from knowledge.understanding import CATEGORY, QueryInterpreter

MAX_CHOICES = 2000
"""Catalog values offered while typing (a browser's own list, no script)."""


def catalog_choices(understanding: QueryInterpreter) -> Html:
    """The catalog's values, as the options of the datalist that the forms share."""
    values = sorted({v for terms in understanding.terms.values() for v in terms})[:MAX_CHOICES]
    return join(h('<option value="{}">', v) for v in values)


def synonym_form(understanding: QueryInterpreter, phrase: str, resolves: list[str],
                 index: int) -> Html:
    names = [CATEGORY, *sorted(n for n in understanding.terms if n != CATEGORY)]
    return h('<form method="post" action="/merchant/synonyms" class="synonym-form" '
             'id="synonym-{i}"><input type="hidden" name="resolves" value="{resolves}">'
             '<label>Shoppers\' words <input name="phrase" value="{phrase}" required '
             'maxlength="{max_phrase}"></label>'
             '<label>mean the <select name="name">{names}</select></label>'
             '<label>catalog term <input name="value" list="catalog-values" required '
             'maxlength="{max_value}" placeholder="e.g. cheese board"></label>'
             '<button type="submit">Add a synonym</button></form>',
             i=index, resolves="\n".join(resolves), phrase=phrase[:MAX_PHRASE],
             max_phrase=MAX_PHRASE, max_value=MAX_VALUE,
             names=join(h('<option value="{0}">{0}</option>', n) for n in names))


def synonym_list(understanding: QueryInterpreter, synonyms: Sequence[SearchSynonym]) -> Html:
    rows = [(s.phrase, f"{s.target_name}: {s.target_value}",
             button_form(f"/merchant/synonyms/{s.id}/remove", "Remove", css="danger"))
            for s in synonyms]
    return join([
        h("<h2>Synonyms</h2>"),
        table(["Shoppers' words", "Mean", ""], rows, css="synonyms",
              empty="No synonym yet: add one beside a search that found nothing."),
        h('<datalist id="catalog-values">{}</datalist>', catalog_choices(understanding))])
