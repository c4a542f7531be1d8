"""Score product search on a labelled relevance set.

    python -m knowledge.eval_search --products catalog.csv --queries queries.tsv \\
        --labels labels.tsv --out run.tsv [--tune]

``--products`` is a catalog in the merchant CSV format, ``--queries`` a TSV with the
header ``query_id<TAB>query``, ``--labels`` a TSV with the header
``query_id<TAB>sku<TAB>grade`` (0 = irrelevant, higher is better). The catalog goes into
a scratch index in a temporary directory (never the shop's database or index); every
query runs in each mode (``dense``, ``lexical``, ``hybrid``) as ``GET
/api/products/search?q=…`` would, without filters. ``--out`` receives the top 100 per
query and mode: ``mode<TAB>query_id<TAB>sku<TAB>rank<TAB>score``.

Scoring is per product, as the search returns products: rows sharing a ``handle`` are
one product; the run names each product by the SKU the search shows (its cheapest
variant) and a label on any SKU of a product counts for that product, with the highest
grade given to any of them. nDCG@10 uses gains 2^grade − 1 and the ideal ranking of
all labelled products of the query; recall@10 is the share of the products graded
above 0 found in the top 10. Queries without any product graded above 0 are left out
of both averages.

The set splits in two halves by query id: ids ending in an odd number are the tuning
half, the others (even, or no trailing number: by a stable hash) the held-out half.
``--tune`` grid-searches the fusion weight on the tuning half and reports it with its
held-out figures, then the ``like`` weight α (see ``tune_like``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import math
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from commerce_core.catalog.importer import (
    ParsedRow,
    parse_catalog,
    product_name,
    read_catalog_file,
    slugify,
)
from knowledge import search as search_module
from knowledge.config import get_settings
from knowledge.embedding import get_embedder
from knowledge.product_index import APPROXIMATE_ABOVE, ProductDoc, ProductIndex, VariantDoc
from knowledge.search import SearchFilters, SearchHit, SearchMode, fuse, search, top
from knowledge.understanding import QueryInterpreter
from knowledge.understood_search import ranked_text, search_understood

log = logging.getLogger("knowledge.eval_search")

MODES: tuple[SearchMode, ...] = ("dense", "lexical", "hybrid")
UNDERSTOOD = "understood"
RUN_DEPTH = 100
CUTOFF = 10
MAX_TSV_BYTES = 10 * 1024 * 1024
MAX_QUERY_CHARS = 500
TRAILING_NUMBER_RE = re.compile(r"(\d+)$")
DENSE_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
LIKE_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)
Ranking = list[tuple[int, str, float]]
"""(product id, SKU shown, score), best first."""


class EvalInputError(ValueError):
    """An input file cannot be used; the message says which line and why."""


@dataclass(frozen=True)
class Catalog:
    docs: list[ProductDoc]
    product_of_sku: dict[str, int]


def load_catalog(path: Path) -> Catalog:
    parsed = parse_catalog(read_catalog_file(path))
    for error in parsed.errors[:20]:
        log.warning("%s row %d, %s: %s (row skipped)", path, error.row, error.column,
                    error.reason)
    if len(parsed.errors) > 20:
        log.warning("%s: %d more rejected rows", path, len(parsed.errors) - 20)
    groups: dict[str, list[ParsedRow]] = {}
    for row in parsed.rows:  # as the importer groups them
        groups.setdefault(row.handle or slugify(row.sku), []).append(row)
    docs, product_of_sku = [], {}
    for product_id, rows in enumerate(groups.values(), start=1):
        first = rows[0]
        docs.append(ProductDoc(
            id=product_id, name=product_name(rows), description=first.description,
            category=first.category, currency=first.currency, image_url=first.image_url,
            variants=tuple(VariantDoc(sku=r.sku, price=r.price, stock=r.stock,
                                      attributes=r.attributes) for r in rows)))
        product_of_sku.update((r.sku, product_id) for r in rows)
    if not docs:
        raise EvalInputError(f"{path}: no valid catalog row")
    return Catalog(docs=docs, product_of_sku=product_of_sku)


def _read_tsv(path: Path, header: tuple[str, ...], *, max_bytes: int = MAX_TSV_BYTES
              ) -> Iterable[tuple[int, list[str]]]:
    if path.stat().st_size > max_bytes:
        raise EvalInputError(f"{path} is larger than {max_bytes // 2**20} MB")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        first = next(reader, None)
        if first is None or tuple(c.strip() for c in first) != header:
            raise EvalInputError(f"{path}: the header must be {'<TAB>'.join(header)}")
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise EvalInputError(f"{path} line {line}: {len(header)} cells expected, "
                                     f"{len(cells)} found")
            yield line, [c.strip() for c in cells]


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for line, (query_id, text) in _read_tsv(path, ("query_id", "query")):
        if not query_id or query_id in queries:
            raise EvalInputError(f"{path} line {line}: empty or repeated query_id")
        if not text or len(text) > MAX_QUERY_CHARS:
            raise EvalInputError(f"{path} line {line}: the query must have 1 to "
                                 f"{MAX_QUERY_CHARS} characters")
        queries[query_id] = text
    return queries


def read_labels(path: Path) -> dict[str, dict[str, float]]:
    labels: dict[str, dict[str, float]] = {}
    for line, (query_id, sku, grade) in _read_tsv(path, ("query_id", "sku", "grade")):
        try:
            value = float(grade)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise EvalInputError(f"{path} line {line}: grade {grade!r} is not a number >= 0")
        labels.setdefault(query_id, {})[sku.upper()] = value
    return labels


def product_grades(labels: dict[str, dict[str, float]], catalog: Catalog,
                   queries: dict[str, str]) -> dict[str, dict[int, float]]:
    """Labels per SKU → grades per product (the highest of its SKUs)."""
    grades: dict[str, dict[int, float]] = {q: {} for q in queries}
    unknown_skus, unknown_queries = set(), set()
    for query_id, by_sku in labels.items():
        if query_id not in grades:
            unknown_queries.add(query_id)
            continue
        for sku, grade in by_sku.items():
            product = catalog.product_of_sku.get(sku)
            if product is None:
                unknown_skus.add(sku)
                continue
            grades[query_id][product] = max(grade, grades[query_id].get(product, 0.0))
    if unknown_queries:
        log.warning("labels name %d query ids not in the queries file (ignored): %s",
                    len(unknown_queries), ", ".join(sorted(unknown_queries)[:5]))
    if unknown_skus:
        log.warning("labels name %d SKUs not in the catalog (ignored): %s",
                    len(unknown_skus), ", ".join(sorted(unknown_skus)[:5]))
    return grades


def ndcg_at(ranked: Sequence[int], grades: dict[int, float], k: int = CUTOFF) -> float:
    def dcg(gains: Iterable[float]) -> float:
        return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(gains))

    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg(grades.get(p, 0.0) for p in ranked[:k]) / ideal if ideal > 0 else 0.0


def recall_at(ranked: Sequence[int], grades: dict[int, float], k: int = CUTOFF) -> float:
    relevant = {p for p, g in grades.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def split_of(query_id: str) -> str:
    match = TRAILING_NUMBER_RE.search(query_id)
    number = int(match.group(1)) if match else hashlib.sha256(query_id.encode()).digest()[0]
    return "tuning" if number % 2 else "held-out"


def mean_metrics(runs: dict[str, list[int]], grades: dict[str, dict[int, float]],
                 query_ids: Iterable[str]) -> tuple[int, float, float]:
    """(queries scored, mean nDCG@10, mean recall@10) over queries with a relevant label."""
    scored = [q for q in query_ids if any(g > 0 for g in grades.get(q, {}).values())]
    if not scored:
        return 0, 0.0, 0.0
    ndcg = sum(ndcg_at(runs.get(q, []), grades[q]) for q in scored) / len(scored)
    recall = sum(recall_at(runs.get(q, []), grades[q]) for q in scored) / len(scored)
    return len(scored), ndcg, recall


class PrecomputedQueries:
    """Query vectors encoded in one batch up front, served to ``search``."""

    def __init__(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        self._vectors = dict(zip(texts, vectors, strict=True))

    def encode_one(self, text: str) -> np.ndarray:
        return self._vectors[text]


def run_queries(index: ProductIndex, encoder: PrecomputedQueries, queries: dict[str, str],
                depth: int = RUN_DEPTH) -> dict[str, dict[str, Ranking]]:
    """Every query in every mode; the score is the mode's own (cosine, BM25 or fused).

    ``understood`` is ``hybrid`` as the bot searches (``interpret=true``): the words are
    read against the catalog first, and the filters and the named product they give
    are applied."""
    runs: dict[str, dict[str, Ranking]] = {mode: {} for mode in (*MODES, UNDERSTOOD)}
    for mode in MODES:
        for query_id, text in queries.items():
            hits = search(index=index, embedder=encoder, query=text, limit=depth,
                          filters=SearchFilters(), mode=mode)
            runs[mode][query_id] = [(h.doc.id, h.variant.sku, _score(h, mode)) for h in hits]
    interpreter = QueryInterpreter(index)
    for query_id, text in queries.items():
        reading = interpreter.interpret(text)
        hits = search_understood(index=index, embedder=encoder, reading=reading,
                                 explicit=SearchFilters(), limit=depth).hits
        runs[UNDERSTOOD][query_id] = [(h.doc.id, h.variant.sku, -rank)
                                      for rank, h in enumerate(hits)]
    return runs


def _score(hit: SearchHit, mode: SearchMode) -> float:
    score = {"dense": hit.dense_score, "lexical": hit.lexical_score}.get(mode, hit.score)
    return float(score or 0.0)


def write_run(out: TextIO, runs: dict[str, dict[str, Ranking]]) -> None:
    out.write("mode\tquery_id\tsku\trank\tscore\n")
    for mode, by_query in runs.items():
        for query_id, ranking in by_query.items():
            for rank, (_, sku, score) in enumerate(ranking, start=1):
                out.write(f"{mode}\t{query_id}\t{sku}\t{rank}\t{score:.6f}\n")


def report(out: TextIO, runs: dict[str, dict[str, Ranking]],
           grades: dict[str, dict[int, float]]) -> None:
    halves = {"all": list(grades), "tuning": [q for q in grades if split_of(q) == "tuning"],
              "held-out": [q for q in grades if split_of(q) == "held-out"]}
    out.write(f"{'mode':<10} {'queries':<9} {'scored':>6} {'nDCG@10':>8} {'recall@10':>9}\n")
    for mode, by_query in runs.items():
        ranked = {q: [p for p, _, _ in r] for q, r in by_query.items()}
        for name, ids in halves.items():
            scored, ndcg, recall = mean_metrics(ranked, grades, ids)
            if name == "all" or scored:
                out.write(f"{mode:<10} {name:<9} {scored:>6} {ndcg:>8.3f} {recall:>9.3f}\n")


def tune(out: TextIO, runs: dict[str, dict[str, Ranking]],
         grades: dict[str, dict[int, float]]) -> None:
    """Grid-search the dense weight of the fusion on the tuning half."""
    dense = {q: {p: s for p, _, s in r} for q, r in runs["dense"].items()}
    lexical = {q: {p: s for p, _, s in r} for q, r in runs["lexical"].items()}
    halves = {h: [q for q in grades if split_of(q) == h] for h in ("tuning", "held-out")}

    def fused(weight: float) -> dict[str, list[int]]:
        return {q: list(top(fuse([(weight, dense.get(q, {})),
                                  (1 - weight, lexical.get(q, {}))]), CUTOFF))
                for q in grades}

    trials = []
    for weight in DENSE_WEIGHTS:
        _, ndcg, recall = mean_metrics(fused(weight), grades, halves["tuning"])
        trials.append((round(ndcg, 4), round(recall, 4), -abs(weight - 0.5), weight))
    best = max(trials)[3]
    for label, weight in (("best on tuning half", best), ("in use", search_module.DENSE_WEIGHT)):
        runs_ = fused(weight)
        figures = "  ".join(
            "{}: nDCG@10 {:.3f} recall@10 {:.3f}".format(h, *mean_metrics(runs_, grades, ids)[1:])
            for h, ids in halves.items())
        out.write(f"fusion {label}: dense weight {weight:g}  {figures}\n")


def tune_like(out: TextIO, index: ProductIndex, encoder: PrecomputedQueries,
              queries: dict[str, str], grades: dict[str, dict[int, float]]) -> None:
    """Simulate "more like this one": for each query with two or more relevant products,
    like the first relevant product of the hybrid top 10 and score the other relevant
    products in the results of ``like`` (which leaves the liked one out), per α."""
    cases: dict[str, list[tuple[str, int]]] = {"tuning": [], "held-out": []}
    for query_id, text in queries.items():
        if sum(g > 0 for g in grades[query_id].values()) < 2:
            continue
        hits = search(index=index, embedder=encoder, query=text, limit=CUTOFF,
                      filters=SearchFilters())
        liked = next((h.doc.id for h in hits if grades[query_id].get(h.doc.id, 0) > 0), None)
        if liked is not None:
            cases[split_of(query_id)].append((query_id, liked))
    in_use = search_module.LIKE_WEIGHT
    try:
        for alpha in LIKE_WEIGHTS:
            search_module.LIKE_WEIGHT = alpha
            figures = []
            for half, chosen in cases.items():
                ndcg = recall = 0.0
                for query_id, liked in chosen:
                    others = {p: g for p, g in grades[query_id].items() if p != liked}
                    ranked = [h.doc.id for h in search(
                        index=index, embedder=encoder, query=queries[query_id], limit=CUTOFF,
                        filters=SearchFilters(), like=liked)]
                    ndcg += ndcg_at(ranked, others)
                    recall += recall_at(ranked, others)
                n = len(chosen) or 1
                figures.append(f"{half} ({len(chosen)}): nDCG@10 {ndcg / n:.3f} "
                               f"recall@10 {recall / n:.3f}")
            mark = " (in use)" if alpha == in_use else ""
            out.write(f"like weight {alpha:g}{mark}  {'  '.join(figures)}\n")
    finally:
        search_module.LIKE_WEIGHT = in_use


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m knowledge.eval_search",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=Path, required=True, help="catalog CSV")
    parser.add_argument("--queries", type=Path, required=True, help="query_id<TAB>query")
    parser.add_argument("--labels", type=Path, required=True, help="query_id<TAB>sku<TAB>grade")
    parser.add_argument("--out", type=Path, required=True, help="run file to write (TSV)")
    parser.add_argument("--model", default=None, help="embedding model (default: settings)")
    parser.add_argument("--approximate-above", type=int, default=APPROXIMATE_ABOVE,
                        help="catalog size above which the index is HNSW")
    parser.add_argument("--tune", action="store_true",
                        help="grid-search the fusion and like weights on the tuning half")
    args = parser.parse_args(argv)
    try:
        catalog = load_catalog(args.products)
        queries = read_queries(args.queries)
        grades = product_grades(read_labels(args.labels), catalog, queries)
    except (OSError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    model = args.model or get_settings().embedding_model
    started = time.perf_counter()
    embedder = get_embedder(model)
    with tempfile.TemporaryDirectory(prefix="atelier-eval-") as scratch:
        index = ProductIndex.load_or_build(
            docs=catalog.docs, embedder=lambda: embedder, model_name=model,
            directory=Path(scratch), progress=True, approximate_above=args.approximate_above)
    built = time.perf_counter()
    reader = QueryInterpreter(index)
    texts = list(dict.fromkeys([*queries.values(),
                                *(ranked_text(reader.interpret(q)) for q in queries.values())]))
    encoder = PrecomputedQueries(texts, embedder.encode(texts, progress=len(texts) > 500))
    runs = run_queries(index, encoder, queries)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as out:
        write_run(out, runs)
    done = time.perf_counter()
    sys.stdout.write(
        f"{len(catalog.docs)} products ({len(catalog.product_of_sku)} SKUs, {index.kind} "
        f"index), {len(queries)} queries; index {built - started:.1f} s, queries "
        f"{done - built:.1f} s; run written to {args.out}\n")
    report(sys.stdout, runs, grades)
    if args.tune:
        tune(sys.stdout, runs, grades)
        tune_like(sys.stdout, index, encoder, queries, grades)
    return 0


if __name__ == "__main__":
    sys.exit(main())
