"""Structured filters as NumPy columns over every variant of the catalog.

A filtered search first decides which products may be returned and with which variant.
Walking 50,000 products in Python for that took most of a filtered query's time; the
same decision over columns (price in cents, stock, category and attribute value codes)
is a few vectorised comparisons.

Attribute values are compared by their stemmed form ("mugs" matches "mug"), which is
what ``search.value_matches`` does one value at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from knowledge.lexical import stem

MISSING = -1


def normal_form(value: str) -> str:
    return " ".join(stem(w) for w in value.split())


@dataclass(frozen=True)
class Selection:
    """Products passing the filters: ``ids`` (ascending) and, aligned, the row of the
    variant each one shows and how many preferences that variant meets."""

    ids: np.ndarray
    rows: np.ndarray
    met: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def contains(self, doc_ids: np.ndarray) -> np.ndarray:
        """A mask over ``doc_ids``: which of them are selected."""
        if not len(self.ids):
            return np.zeros(len(doc_ids), dtype=bool)
        where = np.searchsorted(self.ids, doc_ids)
        where[where >= len(self.ids)] = 0
        return self.ids[where] == doc_ids

    def without(self, *doc_ids: int) -> Selection:
        keep = ~np.isin(self.ids, np.asarray(doc_ids, dtype=np.int64))
        return Selection(self.ids[keep], self.rows[keep], self.met[keep])


class FilterColumns:
    """One row per variant, in the order of the products' ``variants`` tuples."""

    def __init__(self, *, doc_ids: Sequence[int], categories: Sequence[str],
                 variants: Sequence[Sequence[tuple[Decimal, int, Mapping[str, str]]]]) -> None:
        owners: list[int] = []
        cents: list[int] = []
        stock: list[int] = []
        category_codes: list[int] = []
        self._categories: dict[str, int] = {}
        self._values: dict[str, dict[str, int]] = {}
        per_row_attributes: list[Mapping[str, str]] = []
        for doc_id, category, product_variants in zip(doc_ids, categories, variants,
                                                      strict=True):
            code = self._categories.setdefault(category, len(self._categories))
            for price, count, attributes in product_variants:
                owners.append(doc_id)
                scaled = price * 100
                if scaled != scaled.to_integral_value():
                    raise ValueError(f"product {doc_id}: price {price} has more than two "
                                     "decimals (prices are stored to the cent)")
                cents.append(int(scaled))
                stock.append(count)
                category_codes.append(code)
                per_row_attributes.append(attributes)
        self.owner = np.asarray(owners, dtype=np.int64)
        self.cents = np.asarray(cents, dtype=np.int64)
        self.stock = np.asarray(stock, dtype=np.int64)
        self.category = np.asarray(category_codes, dtype=np.int32)
        self.order = np.arange(len(owners), dtype=np.int64)
        self._columns: dict[str, np.ndarray] = {}
        names = {name for attributes in per_row_attributes for name in attributes}
        for name in names:
            codes = self._values.setdefault(name, {})
            column = np.full(len(owners), MISSING, dtype=np.int32)
            for row, attributes in enumerate(per_row_attributes):
                value = attributes.get(name)
                if value is not None:
                    column[row] = codes.setdefault(normal_form(value), len(codes))
            self._columns[name] = column
        self._everything: Selection | None = None
        """The selection without filters (every product with its cheapest variant)."""

    def _matches(self, name: str, accepted: tuple[str, ...]) -> np.ndarray:
        column = self._columns.get(name)
        if column is None:
            return np.zeros(len(self.owner), dtype=bool)
        codes = [self._values[name][v] for v in {normal_form(a) for a in accepted}
                 if v in self._values[name]]
        if not codes:
            return np.zeros(len(self.owner), dtype=bool)
        return np.isin(column, np.asarray(codes, dtype=np.int32))

    def select(self, *, min_price: Decimal | None, max_price: Decimal | None,
               category: str | None, attributes: Mapping[str, tuple[str, ...]],
               in_stock: bool, boosts: Mapping[str, tuple[str, ...]]) -> Selection:
        """The products with a variant passing every filter, each with its best such
        variant: the one meeting the most preferences, then the cheapest, then the first."""
        unfiltered = (min_price is None and max_price is None and not category
                      and not attributes and not in_stock and not boosts)
        if unfiltered and self._everything is not None:
            return self._everything
        mask = np.ones(len(self.owner), dtype=bool)
        if category:
            code = self._categories.get(category)
            if code is None:
                return Selection(*(np.empty(0, dtype=np.int64) for _ in range(3)))
            mask &= self.category == code
        if min_price is not None:
            mask &= self.cents >= int((min_price * 100).to_integral_value(ROUND_CEILING))
        if max_price is not None:
            mask &= self.cents <= int((max_price * 100).to_integral_value(ROUND_FLOOR))
        if in_stock:
            mask &= self.stock > 0
        for name, accepted in attributes.items():
            mask &= self._matches(name, accepted)
        rows = np.flatnonzero(mask)
        met = np.zeros(len(rows), dtype=np.int64)
        for name, accepted in boosts.items():
            met += self._matches(name, accepted)[rows]
        owners = self.owner[rows]
        ranked = np.lexsort((rows, self.cents[rows], -met, owners))
        owners, rows, met = owners[ranked], rows[ranked], met[ranked]
        ids, first = np.unique(owners, return_index=True)
        selection = Selection(ids, rows[first], met[first])
        if unfiltered:
            self._everything = selection
        return selection
