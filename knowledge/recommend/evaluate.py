"""Score the recommender on past orders: ``make eval-recs``.

    python -m knowledge.recommend.evaluate --products catalog.csv --train train.tsv \
        --queries queries.tsv --out run.tsv [--answers answers.tsv] [--tune]

- ``--products``: a merchant catalog CSV (the import format);
- ``--train``: past orders, header ``basket_id<TAB>sku``, one line per product of an
  order, orders in time order;
- ``--queries``: header ``query_id<TAB>sku``, the products already in each basket;
- ``--answers`` (optional): header ``query_id<TAB>sku``, the product held out of each.

A scratch model is built from the training orders only (the shop's own data is never
read or touched). Every query gets the 100 best products not already in it, per mode
(``popularity``, ``cosine``, ``ease``, ``content`` and ``hybrid``, the last being what
the shop serves), written as ``mode<TAB>query_id<TAB>sku<TAB>rank<TAB>score``. With
answers, hit-rate@10 and MRR@10 are printed per mode. Stock is not applied: it filters
what is served, it is not part of the ranking.

``--tune`` holds out the most recent ``--validation-share`` of the *training* orders
(one product of each), fits on the rest and prints the scores of a grid of hybrid
weights and EASE λ values, so the held-out queries are never tuned on.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
from tqdm import tqdm

from knowledge.eval_search import Catalog, EvalInputError, load_catalog
from knowledge.eval_search import _read_tsv as read_tsv
from knowledge.recommend.basket import EASE_LAMBDA, BasketModel, Seed
from knowledge.recommend.content import ContentModel
from knowledge.recommend.hybrid import MODES, WEIGHTS, Hybrid, Mode

log = logging.getLogger("knowledge.recommend.evaluate")

RUN_DEPTH = 100
CUTOFF = 10
MAX_TSV_BYTES = 200 * 1024 * 1024
EMBED_AUTO_MAX = 5000
"""``--vectors auto`` embeds the catalog's products only up to this many (CPU time)."""
MAX_VALIDATION = 2000
GRID = {"ease": (1.0,), "cosine": (0.15, 0.3, 0.6), "content": (0.15, 0.3, 0.5, 0.8),
        "popularity": (0.0, 0.05, 0.15)}
LAMBDAS = (20.0, 50.0)
"""A first, coarser grid (cosine 0–0.6, content 0–0.3, λ 50/200/500) put the best at
λ = 50 and content 0.3, its edge; this one looks around it."""


@dataclass(frozen=True)
class Orders:
    baskets: list[list[int]]
    """Product ids of each order, in time order."""
    unknown: int
    """Lines whose SKU is not in the catalog (skipped)."""


def _read_tsv(path: Path, header: tuple[str, ...]) -> Iterable[tuple[int, list[str]]]:
    for line, cells in read_tsv(path, header, max_bytes=MAX_TSV_BYTES):
        if not all(cells):
            raise EvalInputError(f"{path} line {line}: an empty cell")
        yield line, cells


def read_groups(path: Path, catalog: Catalog, key: str) -> tuple[dict[str, list[int]], int]:
    """``key<TAB>sku`` lines → {key: product ids in first-seen order}, and the count of
    lines whose SKU the catalog does not have."""
    groups: dict[str, list[int]] = {}
    unknown = 0
    for _, (group, sku) in _read_tsv(path, (key, "sku")):
        product = catalog.product_of_sku.get(sku.upper())
        if product is None:
            unknown += 1
            groups.setdefault(group, [])
            continue
        members = groups.setdefault(group, [])
        if product not in members:
            members.append(product)
    return groups, unknown


def read_orders(path: Path, catalog: Catalog) -> Orders:
    groups, unknown = read_groups(path, catalog, "basket_id")
    return Orders(baskets=[b for b in groups.values() if b], unknown=unknown)


def read_answers(path: Path, catalog: Catalog) -> dict[str, int]:
    answers: dict[str, int] = {}
    for line, (query_id, sku) in _read_tsv(path, ("query_id", "sku")):
        if query_id in answers:
            raise EvalInputError(f"{path} line {line}: a second answer for {query_id}")
        product = catalog.product_of_sku.get(sku.upper())
        if product is not None:
            answers[query_id] = product
    return answers


def catalog_vectors(catalog: Catalog, mode: str) -> np.ndarray | None:
    if mode == "off" or (mode == "auto" and len(catalog.docs) > EMBED_AUTO_MAX):
        return None
    from knowledge.config import get_settings
    from knowledge.embedding import get_embedder
    from knowledge.product_index import embedding_texts

    embedder = get_embedder(get_settings().embedding_model)
    return embedder.encode(embedding_texts(catalog.docs), batch_size=64, progress=True)


def fit(baskets: Sequence[Sequence[int]], catalog: Catalog, *,
        ease_lambda: float = EASE_LAMBDA, progress: bool = True) -> BasketModel:
    model = BasketModel(product_ids=[d.id for d in catalog.docs], ease_lambda=ease_lambda)
    with tqdm(total=len(baskets), desc="Learning orders", unit="order",
              disable=not progress) as bar:
        model.fit(baskets, progress=bar.update)
    model.refit_ease()
    return model


def rank_all(hybrid: Hybrid, queries: dict[str, list[int]], modes: Sequence[Mode],
             depth: int = RUN_DEPTH) -> dict[Mode, dict[str, list[tuple[int, float]]]]:
    runs: dict[Mode, dict[str, list[tuple[int, float]]]] = {m: {} for m in modes}
    for query_id, products in tqdm(queries.items(), desc="Recommending", unit="query"):
        seeds = [Seed(p, 1.0, "cart") for p in products]
        for mode in modes:
            runs[mode][query_id] = [(s.product_id, s.score) for s in
                                    hybrid.rank(seeds, mode=mode, limit=depth,
                                                exclude=products, explain=False)]
    return runs


def metrics(run: dict[str, list[tuple[int, float]]], answers: dict[str, int]
            ) -> tuple[float, float, int]:
    """hit-rate@10, MRR@10 and the number of queries scored."""
    hits = reciprocal = 0.0
    scored = 0
    for query_id, answer in answers.items():
        if query_id not in run:
            continue
        scored += 1
        ranked = [p for p, _ in run[query_id][:CUTOFF]]
        if answer in ranked:
            hits += 1
            reciprocal += 1.0 / (ranked.index(answer) + 1)
    return (hits / scored, reciprocal / scored, scored) if scored else (0.0, 0.0, 0)


def write_run(out: TextIO, runs: dict[Mode, dict[str, list[tuple[int, float]]]],
              catalog: Catalog) -> None:
    sku_of = {d.id: d.variants[0].sku for d in catalog.docs}
    out.write("mode\tquery_id\tsku\trank\tscore\n")
    for mode, run in runs.items():
        for query_id, ranked in run.items():
            for rank, (product, score) in enumerate(ranked, start=1):
                out.write(f"{mode}\t{query_id}\t{sku_of[product]}\t{rank}\t{score:.6f}\n")


def validation_split(baskets: Sequence[list[int]], share: float, seed: int = 7
                     ) -> tuple[list[list[int]], dict[str, list[int]], dict[str, int]]:
    """The first ``1 - share`` of the orders, and queries/answers from the rest."""
    cut = int(len(baskets) * (1 - share))
    rng = random.Random(seed)
    queries: dict[str, list[int]] = {}
    answers: dict[str, int] = {}
    later = [b for b in baskets[cut:] if len(b) >= 2]
    if len(later) > MAX_VALIDATION:
        later = rng.sample(later, MAX_VALIDATION)
    for k, basket in enumerate(later):
        held = rng.randrange(len(basket))
        queries[f"v{k}"] = [p for i, p in enumerate(basket) if i != held]
        answers[f"v{k}"] = basket[held]
    return list(baskets[:cut]), queries, answers


def tune(out: TextIO, orders: Orders, catalog: Catalog, content: ContentModel,
         share: float) -> None:
    train, queries, answers = validation_split(orders.baskets, share)
    out.write(f"validation: {len(queries)} orders held out of the last {share:.0%} of the "
              f"training orders; fitted on {len(train)}\n")
    for ease_lambda in LAMBDAS:
        hybrid = Hybrid(basket=fit(train, catalog, ease_lambda=ease_lambda, progress=False),
                        content=content)
        cached = {q: hybrid.signals([Seed(p, 1.0, "cart") for p in products])
                  for q, products in queries.items()}
        keep = {q: _keep_mask(hybrid, products) for q, products in queries.items()}
        ease_only = _score_grid(hybrid, cached, keep, answers, {"ease": 1.0, "cosine": 0.0,
                                                               "content": 0.0,
                                                               "popularity": 0.0})
        out.write(f"λ={ease_lambda:g}: ease alone hit@10 {ease_only[0]:.4f} "
                  f"MRR@10 {ease_only[1]:.4f}\n")
        results = []
        for values in itertools.product(*GRID.values()):
            weights = dict(zip(GRID, values, strict=True))
            results.append((_score_grid(hybrid, cached, keep, answers, weights), weights))
        results.sort(key=lambda r: (-r[0][1], -r[0][0]))
        for (hit, mrr), weights in results[:5]:
            out.write(f"  hybrid {weights}: hit@10 {hit:.4f} MRR@10 {mrr:.4f}\n")


def _keep_mask(hybrid: Hybrid, products: Sequence[int]) -> np.ndarray:
    keep = np.ones(len(hybrid.content.product_ids), dtype=bool)
    for p in products:
        keep[hybrid.content.position[p]] = False
    return keep


def _score_grid(hybrid: Hybrid, cached: dict, keep: dict, answers: dict[str, int],
                weights: dict[str, float]) -> tuple[float, float]:
    hybrid.weights = weights
    hits = reciprocal = 0.0
    for query_id, signals in cached.items():
        parts = hybrid.blend(signals, "hybrid", keep[query_id])
        total = np.where(keep[query_id], sum(parts.values()), -np.inf)
        answer = hybrid.content.position[answers[query_id]]
        rank = int((total >= total[answer]).sum())  # ties count against the answer
        if rank <= CUTOFF:
            hits += 1
            reciprocal += 1.0 / rank
    return hits / len(cached), reciprocal / len(cached)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m knowledge.recommend.evaluate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=Path, required=True)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--answers", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--vectors", choices=("auto", "on", "off"), default="auto",
                        help=f"embed the products with MiniLM (auto: up to {EMBED_AUTO_MAX})")
    parser.add_argument("--tune", action="store_true",
                        help="print a weight grid on held-out training orders first")
    parser.add_argument("--validation-share", type=float, default=0.1)
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        catalog = load_catalog(args.products)
        orders = read_orders(args.train, catalog)
        queries, unknown_q = read_groups(args.queries, catalog, "query_id")
        answers = read_answers(args.answers, catalog) if args.answers else {}
    except (EvalInputError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if orders.unknown or unknown_q:
        log.warning("%d order lines and %d query lines name a SKU not in the catalog "
                    "(skipped)", orders.unknown, unknown_q)
    vectors = catalog_vectors(catalog, args.vectors)
    content = ContentModel.build(catalog.docs, vectors)
    out.write(f"catalog: {len(catalog.docs)} products; training orders: "
              f"{len(orders.baskets)}; queries: {len(queries)}; MiniLM vectors: "
              f"{'yes' if vectors is not None else 'no'}\n")
    if args.tune:
        tune(out, orders, catalog, content, args.validation_share)
    hybrid = Hybrid(basket=fit(orders.baskets, catalog), content=content, weights=WEIGHTS)
    started = time.perf_counter()
    runs = rank_all(hybrid, queries, MODES)
    elapsed = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        write_run(handle, runs, catalog)
    out.write(f"run written to {args.out} ({len(queries)} queries × {len(MODES)} modes in "
              f"{elapsed:.1f} s)\n")
    if answers:
        out.write(f"{'mode':<12} {'hit@10':>8} {'MRR@10':>8}  queries\n")
        for mode in MODES:
            hit, mrr, scored = metrics(runs[mode], answers)
            out.write(f"{mode:<12} {hit:>8.4f} {mrr:>8.4f}  {scored}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
