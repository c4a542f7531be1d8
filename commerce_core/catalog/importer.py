"""Merchant catalog import from CSV.

Columns: ``sku,name,description,category,price,currency,stock,attributes,image_url``
and an optional ``handle``: rows that share a handle are variants of one product.
``attributes`` is ``key:value|key:value``. Each row is validated on its own; a bad
row is reported (row number, column, reason) and skipped whole, never half-imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from commerce_core.catalog.repository import CatalogRepository
from commerce_core.catalog.schemas import MAX_REPORTED_ERRORS, ImportReport, ImportRowError
from commerce_core.config import get_settings
from commerce_core.models import Product, Variant
from commerce_core.money import parse_amount
from commerce_core.params import CONTROL_RE, MULTI_LINE_CONTROL_RE

REQUIRED_COLUMNS = ("sku", "name", "description", "category", "price", "currency", "stock",
                    "attributes", "image_url")
OPTIONAL_COLUMNS = ("handle", "weight_grams")
MAX_WEIGHT_GRAMS = 100_000
DEFAULT_WEIGHT_GRAMS = 400
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_STOCK = 1_000_000
BATCH_ROWS = 500
"""Rows applied per pair of queries (and per commit in a background import)."""
SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_ ]{0,39}$")
LIMITS = {"name": 200, "description": 5000, "category": 60, "image_url": 500, "handle": 120,
          "attributes": 2000}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet run a cell as a formula (OWASP's CSV injection list)."""


def _formula_like(value: str) -> bool:
    """Starts like a formula, possibly behind apostrophes (which the escape adds)."""
    return value.lstrip("'")[:1] in FORMULA_START


def escape_cell(value: str) -> str:
    """A cell for export: a formula-like value is led by an apostrophe, so a spreadsheet
    shows it as text. A value already led by apostrophes before a formula character gets
    one more, so that :func:`unescape_cell` gives back exactly the value."""
    return "'" + value if _formula_like(value) else value


def unescape_cell(value: str) -> str:
    """The value of an imported cell: the apostrophe :func:`escape_cell` added is dropped
    (and only that one; "'Tis" stays as it is)."""
    return value[1:] if value[:1] == "'" and _formula_like(value[1:]) else value


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (size, encoding, header)."""


@dataclass(slots=True)
class ParsedRow:
    line: int
    sku: str
    name: str
    description: str
    category: str
    price: Decimal
    currency: str
    stock: int
    attributes: dict[str, str]
    image_url: str
    handle: str
    weight_grams: int


@dataclass
class ParseResult:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    total: int = 0


def parse_attributes(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split("|"))):
        key, sep, value = part.partition(":")
        key, value = key.strip().lower(), value.strip().lower()
        if not sep or not value:
            raise ValueError(f"{part!r} is not key:value")
        if not KEY_RE.match(key):
            raise ValueError(f"{key!r} is not a valid attribute name")
        if key in attributes:
            raise ValueError(f"attribute {key!r} is given twice")
        attributes[key] = value
    return attributes


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120] or "product"


def _parse_row(line: int, raw: dict[str, str | None], currency: str | None
               ) -> tuple[ParsedRow | None,
                                                               list[ImportRowError]]:
    errors: list[ImportRowError] = []

    def err(column: str, reason: str) -> None:
        errors.append(ImportRowError(row=line, column=column, reason=reason))

    if None in raw:  # csv puts surplus cells under the None key
        err("*", "the row has more cells than the header")
    cell = {k: unescape_cell((raw.get(k) or "").strip())
            for k in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    for column, value in cell.items():
        control = MULTI_LINE_CONTROL_RE if column == "description" else CONTROL_RE
        if (found := control.search(value)) is not None:
            err(column, f"contains a control character (U+{ord(found.group()):04X})")
    if errors:
        return None, errors
    for column, limit in LIMITS.items():
        if len(cell[column]) > limit:
            err(column, f"longer than {limit} characters")
    if not SKU_RE.match(cell["sku"]):
        err("sku", "required; letters, digits, '.', '_' or '-', at most 64 characters")
    for column in ("name", "category"):
        if not cell[column]:
            err(column, "required")
    price = Decimal(0)
    try:
        price = parse_amount(cell["price"])
    except ValueError as exc:
        err("price", str(exc))
    if not CURRENCY_RE.match(cell["currency"]):
        err("currency", "a three-letter ISO code such as EUR")
    elif currency is not None and cell["currency"] != currency:
        err("currency", f"the shop sells in {currency}, not {cell['currency']}")
    stock = 0
    try:
        stock = int(cell["stock"])
        if not 0 <= stock <= MAX_STOCK:
            err("stock", f"must be between 0 and {MAX_STOCK}")
    except ValueError:
        err("stock", f"{cell['stock']!r} is not a whole number")
    attributes: dict[str, str] = {}
    try:
        attributes = parse_attributes(cell["attributes"])
    except ValueError as exc:
        err("attributes", str(exc))
    weight = DEFAULT_WEIGHT_GRAMS
    if cell["weight_grams"]:
        if not cell["weight_grams"].isdigit() or not 0 < int(cell["weight_grams"]) <= \
                MAX_WEIGHT_GRAMS:
            err("weight_grams", f"a whole number of grams from 1 to {MAX_WEIGHT_GRAMS}")
        else:
            weight = int(cell["weight_grams"])
    if errors:
        return None, errors
    return ParsedRow(
        line=line, sku=cell["sku"].upper(), name=cell["name"], description=cell["description"],
        category=cell["category"].lower(), price=price, currency=cell["currency"], stock=stock,
        attributes=attributes, image_url=cell["image_url"],
        handle=slugify(cell["handle"]) if cell["handle"] else "", weight_grams=weight,
    ), []


def _csv_problem(exc: csv.Error) -> str:
    """The csv module's complaint in the merchant's words."""
    text = str(exc)
    if "field limit" in text:
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    if "new-line character" in text:
        return "a line break inside a cell that is not in quotes"
    return text


def _rows(reader: csv.DictReader[str]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """The data rows, numbered as in a spreadsheet; a row the csv module cannot read
    makes the whole file unreadable (what follows it cannot be trusted either)."""
    index = 1
    while True:
        index += 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogFileError(f"row {index}: {_csv_problem(exc)}") from None
        yield index, raw


def _reader(text: str) -> csv.DictReader[str]:
    """A reader past the header, which must name every required column."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise CatalogFileError(f"row 1: {_csv_problem(exc)}") from None
    header = [h.strip() for h in fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise CatalogFileError(f"the header lacks the column(s): {', '.join(missing)}")
    reader.fieldnames = header
    return reader


def check_header(text: str) -> None:
    """Raise :class:`CatalogFileError` now if the file's header cannot be imported."""
    _reader(text)


def validated_rows(text: str, currency: str | None
                   ) -> Iterator[tuple[ParsedRow | None, list[ImportRowError]]]:
    """Each data row, parsed and checked, or None with its problems. Streams: only the
    SKUs seen so far are kept (a repeated SKU is refused)."""
    seen: dict[str, int] = {}
    for index, raw in _rows(_reader(text)):
        row, errors = _parse_row(index, raw, currency)
        if row and row.sku in seen:
            errors = [ImportRowError(row=index, column="sku",
                                     reason=f"duplicate of row {seen[row.sku]}")]
            row = None
        if row:
            seen[row.sku] = index
        yield row, errors


def parse_catalog(text: str, currency: str | None = None) -> ParseResult:
    """Validate every row; rows are numbered as in a spreadsheet (header is row 1)."""
    result = ParseResult()
    for row, errors in validated_rows(text, currency):
        result.total += 1
        result.errors.extend(errors)
        if row:
            result.rows.append(row)
    return result


def read_catalog_file(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CatalogFileError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogFileError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def group_rows(rows: Iterable[ParsedRow]) -> list[Group]:
    """The rows of each product (by handle; a row without one is a product of its own)."""
    groups: dict[str, list[ParsedRow]] = {}
    for row in rows:
        groups.setdefault(row.handle or slugify(row.sku), []).append(row)
    return list(groups.items())


def product_name(rows: list[ParsedRow]) -> str:
    """The name of a product whose variant rows may carry a suffix ("Mug — Blue")."""
    names = {r.name for r in rows}
    if len(names) > 1:
        bases = {n.split(" — ")[0].strip() for n in names}
        if len(bases) == 1:
            return bases.pop()
    return rows[0].name


@dataclass
class Applied:
    """What applying rows changed: variants created, updated, or already so."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: Applied) -> Applied:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


Group = tuple[str, list[ParsedRow]]
"""A product's handle and its variant rows."""


def batches(groups: Iterable[Group], rows: int) -> Iterator[list[Group]]:
    """Groups in batches of about ``rows`` rows; a product's rows stay together."""
    batch: list[Group] = []
    size = 0
    for group in groups:
        batch.append(group)
        size += len(group[1])
        if size >= rows:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _assign(obj: Product | Variant, **values: object) -> bool:
    """Set the values that differ; True if any did (an unchanged row writes nothing)."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def apply_groups(*, session: Session, groups: list[Group]) -> Applied:
    """Create or update the products and variants of ``groups`` (keyed by handle and sku)
    with two queries for the lot; the caller flushes and commits."""
    repo = CatalogRepository(session)
    existing = repo.variants_by_sku([r.sku for _, rows in groups for r in rows])
    products = repo.products_by_handle([handle for handle, _ in groups])
    applied = Applied()
    for handle, rows in groups:
        first = rows[0]
        shared = {k: v for k, v in first.attributes.items()
                  if all(r.attributes.get(k) == v for r in rows)}
        product = products.get(handle)
        if product is None:
            product = Product(handle=handle, variants=[])
            repo.add(product)
        product_changed = _assign(
            product, name=product_name(rows), description=first.description,
            category=first.category, currency=first.currency, image_url=first.image_url,
            attributes=shared)
        for row in rows:
            own = {k: v for k, v in row.attributes.items() if k not in shared}
            variant = existing.get(row.sku)
            moved = False
            if variant is None:
                variant = Variant(sku=row.sku)
                product.variants.append(variant)
            elif variant.product is not product:
                variant.product = product
                moved = True
            changed = _assign(variant, attributes=own, price=row.price, currency=row.currency,
                              stock=row.stock, weight_grams=row.weight_grams)
            if variant.id is None:
                applied.created += 1
            elif product_changed or moved or changed:
                applied.updated += 1
            else:
                applied.unchanged += 1
    return applied


def make_report(parsed: ParseResult, applied: Applied) -> ImportReport:
    return ImportReport(created=applied.created, updated=applied.updated,
                        unchanged=applied.unchanged, rows=parsed.total,
                        errors=parsed.errors[:MAX_REPORTED_ERRORS],
                        errors_total=len(parsed.errors))


def import_catalog(*, session: Session, text: str, currency: str | None = None
                   ) -> ImportReport:
    """Create or update products and variants from CSV text (keyed by handle and sku).

    The caller commits. Valid rows are applied even when other rows are rejected.
    """
    parsed = parse_catalog(text, currency or get_settings().default_currency)
    applied = Applied()
    for batch in batches(group_rows(parsed.rows), BATCH_ROWS):
        applied += apply_groups(session=session, groups=batch)
        session.flush()
    return make_report(parsed, applied)
