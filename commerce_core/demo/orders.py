"""The demo shop's order history: a year of delivered orders, so the demo's
recommendations and forecasts start from something believable.

``orders.tsv`` (next to this file) was generated once with
``python -m commerce_core.demo.orders generate`` (seed 14) and is committed; the demo
loader (``python -m commerce_core load-demo``) imports it after the catalog. How it was
made, so the patterns it holds are known:

- 60 shoppers (``web:demo-shopper-NN``), each with two favourite colours, a favourite
  style and two favourite categories; 600 orders between 2025-12-01 and 2026-11-30.
- An order starts from one product: of a favourite category seven times in ten, and
  within the category weighted by a fixed "bestseller" prior (1/sqrt(rank) over a seeded
  shuffle) times the shopper's taste (colour ×3, style ×2).
- Then what goes with it, by product type (``COMPLEMENTS``: a mug with a milk jug, a
  teapot, a tea towel or a coaster; a print with a frame; a candle with a holder or
  matches; earrings with a necklace…), each with probability 0.35, preferring the same
  colour or style; a second piece of the same type (a set of mugs, a stack of rings)
  with probability 0.2; gift wrap, a gift tag or a card with probability 0.15.
- Quantities are 1, sometimes 2 for mugs, cards and tealights. Prices are today's
  catalog prices; stock is not touched (these orders were made and shipped long ago).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from commerce_core.customer.service import get_or_create_customer
from commerce_core.models import Order, OrderLine, Product, Variant
from commerce_core.models.order import OrderStatus, PaymentStatus

HERE = Path(__file__).parent
ORDERS_FILE = HERE / "orders.tsv"
CATALOG_FILE = HERE / "catalog.csv"
SEED = 14
SHOPPERS = 60
ORDERS = 600
FIRST_DAY = date(2025, 12, 1)
DAYS = 365
NUMBER_PREFIX = "DEMO-"
SHIPPING = Decimal("4.90")
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "mug": ("jug", "teapot", "tea towel", "coaster", "plate", "bowl"),
    "teapot": ("mug", "jug", "tea towel"),
    "bowl": ("plate", "spoon", "salad servers", "napkin"),
    "plate": ("bowl", "napkin", "placemat"),
    "vase": ("suncatcher", "planter", "table runner"),
    "planter": ("plant stand", "plant hanger", "vase"),
    "art print": ("frame", "postcard set"),
    "poster": ("frame",),
    "linocut print": ("frame", "greeting card"),
    "screen print": ("frame",),
    "risograph print": ("frame", "sticker sheet"),
    "candle": ("candle holder", "matches", "snuffer", "tealight"),
    "tealight": ("candle holder", "lantern"),
    "ring": ("ring dish", "ring box", "earrings"),
    "earrings": ("necklace", "ring dish", "bracelet"),
    "necklace": ("earrings", "bracelet", "ring box"),
    "bracelet": ("earrings", "necklace"),
    "wallet": ("card holder", "key fob", "keyring"),
    "belt": ("wallet",),
    "journal": ("pen", "bookmark", "washi tape", "journal cover"),
    "notebook": ("pen", "pencil set", "washi tape"),
    "sketchbook": ("pencil set", "pen"),
    "greeting card": ("envelope", "gift tag", "wrapping paper"),
    "chopping board": ("knife", "tea towel", "spatula"),
    "cheese board": ("knife", "napkin"),
    "serving board": ("knife", "salad servers"),
    "tumbler": ("carafe", "coaster"),
    "carafe": ("tumbler",),
    "wine glass": ("coaster", "carafe"),
    "scarf": ("beanie", "tote bag"),
    "blanket": ("cushion cover", "throw"),
    "cushion cover": ("throw", "blanket"),
    "tea towel": ("apron", "napkin"),
    "ornament": ("bauble", "stocking", "greeting card"),
    "bauble": ("ornament",),
}
SETS = frozenset({"mug", "ring", "greeting card", "tealight", "candle", "tumbler",
                  "ornament", "art print"})
GIFT_WRAP = ("wrapping paper", "gift tag", "greeting card", "gift bag")
SEVERAL = frozenset({"mug", "greeting card", "tealight"})


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    category: str
    type: str
    colour: str
    style: str


def _catalog(path: Path = CATALOG_FILE) -> list[DemoProduct]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            attributes = dict(pair.split(":", 1) for pair in row["attributes"].split("|")
                              if ":" in pair)
            out.append(DemoProduct(sku=row["sku"], category=row["category"],
                                   type=attributes.get("type", ""),
                                   colour=attributes.get("colour", ""),
                                   style=attributes.get("style", "")))
    return out


def generate(out: Path = ORDERS_FILE, seed: int = SEED) -> int:
    """Write the order history; returns the number of order lines."""
    rng = random.Random(seed)
    products = _catalog()
    shuffled = products[:]
    rng.shuffle(shuffled)
    prior = {p.sku: 1.0 / (rank + 1) ** 0.5 for rank, p in enumerate(shuffled)}
    by_type: dict[str, list[DemoProduct]] = defaultdict(list)
    by_category: dict[str, list[DemoProduct]] = defaultdict(list)
    for p in products:
        by_type[p.type].append(p)
        by_category[p.category].append(p)
    categories = sorted(by_category)
    colours = sorted({p.colour for p in products if p.colour})
    styles = sorted({p.style for p in products if p.style})
    shoppers = [{"id": f"demo-shopper-{n:02d}", "colours": rng.sample(colours, 2),
                 "style": rng.choice(styles), "categories": rng.sample(categories, 2)}
                for n in range(1, SHOPPERS + 1)]

    def pick(pool: list[DemoProduct], taste: dict, like: DemoProduct | None = None,
             avoid: set[str] = frozenset()) -> DemoProduct | None:
        pool = [p for p in pool if p.sku not in avoid]
        if not pool:
            return None
        weights = []
        for p in pool:
            w = prior[p.sku]
            w *= 3.0 if p.colour in taste["colours"] else 1.0
            w *= 2.0 if p.style == taste["style"] else 1.0
            if like is not None:
                w *= 3.0 if p.colour == like.colour else 1.0
                w *= 2.0 if p.style == like.style else 1.0
            weights.append(w)
        return rng.choices(pool, weights=weights)[0]

    days = sorted(rng.randrange(DAYS) for _ in range(ORDERS))
    lines = 0
    with out.open("w", encoding="utf-8") as handle:
        handle.write("order\tshopper\tdate\tsku\tquantity\n")
        for number, day in enumerate(days, start=1):
            taste = rng.choice(shoppers)
            category = (rng.choice(taste["categories"]) if rng.random() < 0.7
                        else rng.choice(categories))
            anchor = pick(by_category[category], taste)
            assert anchor is not None
            basket = [anchor]
            for kind in COMPLEMENTS.get(anchor.type, ()):
                if kind in by_type and rng.random() < 0.35:
                    found = pick(by_type[kind], taste, anchor, {p.sku for p in basket})
                    if found is not None:
                        basket.append(found)
            if anchor.type in SETS and rng.random() < 0.2:
                found = pick(by_type[anchor.type], taste, anchor, {p.sku for p in basket})
                if found is not None:
                    basket.append(found)
            if rng.random() < 0.15:
                kind = rng.choice([k for k in GIFT_WRAP if k in by_type])
                found = pick(by_type[kind], taste, None, {p.sku for p in basket})
                if found is not None:
                    basket.append(found)
            when = (FIRST_DAY + timedelta(days=day)).isoformat()
            for p in basket:
                quantity = 2 if p.type in SEVERAL and rng.random() < 0.3 else 1
                handle.write(f"{number:04d}\tweb:{taste['id']}\t{when}\t{p.sku}\t{quantity}\n")
                lines += 1
    return lines


class DemoOrdersError(ValueError):
    """The demo order file names a product the catalog does not have."""


def load(*, session: Session, path: Path = ORDERS_FILE) -> int:
    """Import the demo orders as delivered and paid; returns how many were added (0 when
    they are there already). The caller commits."""
    if session.scalar(select(Order.id).where(Order.number.startswith(NUMBER_PREFIX))
                      .limit(1)) is not None:
        return 0
    variants = {v.sku: v for v in session.scalars(select(Variant))}
    product_names = dict(session.execute(select(Product.id, Product.name)).all())
    orders: dict[str, list[tuple[str, str, str, int]]] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["sku"] not in variants:
                raise DemoOrdersError(f"{path}: order {row['order']} names unknown SKU "
                                      f"{row['sku']}")
            orders.setdefault(row["order"], []).append(
                (row["shopper"], row["date"], row["sku"], int(row["quantity"])))
    for ref, rows in orders.items():
        channel, _, external_id = rows[0][0].partition(":")
        customer = get_or_create_customer(session=session, channel=channel,
                                          external_id=external_id)
        placed = datetime.combine(date.fromisoformat(rows[0][1]), time(12), tzinfo=UTC)
        lines = []
        for _, _, sku, quantity in rows:
            variant = variants[sku]
            lines.append(OrderLine(
                variant_id=variant.id, sku=sku, name=product_names[variant.product_id],
                options={}, unit_price=variant.price, quantity=quantity,
                line_total=variant.price * quantity))
        subtotal = sum((line.line_total for line in lines), Decimal(0))
        session.add(Order(
            number=f"{NUMBER_PREFIX}{ref}", customer_id=customer.id,
            email=f"{external_id}@example.com",
            shipping_address={"name": "Demo Shopper", "line1": f"{ref} Demo Street",
                              "line2": "", "city": "Utrecht", "postal_code": "3511 AA",
                              "country": "NL"},
            status=OrderStatus.DELIVERED, payment_status=PaymentStatus.PAID,
            currency=variants[rows[0][2]].currency, subtotal=subtotal, shipping=SHIPPING,
            tax=Decimal(0), total=subtotal + SHIPPING,
            ready_by=placed.date().isoformat(), reserved_until=None, lines=lines,
            created_at=placed, updated_at=placed + timedelta(days=5)))
    session.flush()
    return len(orders)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commerce_core.demo.orders")
    parser.add_argument("command", choices=["generate"])
    parser.add_argument("--out", type=Path, default=ORDERS_FILE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    lines = generate(args.out, args.seed)
    sys.stdout.write(f"{args.out}: {ORDERS} orders, {lines} lines (seed {args.seed})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
