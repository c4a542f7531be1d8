"""Knowledge benchmarks: embedding throughput, FAQ answer latency, and product search at
50,000 synthetic products (HNSW) through the library."""

from __future__ import annotations

import csv
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import faiss

from benchmarks.common import Report, Series, time_calls
from knowledge.embedding import get_embedder
from knowledge.faq_service import FaqService
from knowledge.product_index import ProductDoc, ProductIndex, VariantDoc
from knowledge.search import SearchFilters, search

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = 50_000
RUNS, SAMPLES = 3, 100
COLOURS = ["blue", "green", "red", "pink", "yellow", "white", "black", "grey", "teal", "navy"]
MATERIALS = {"ceramics": ["stoneware", "porcelain", "ceramic"], "jewellery": [
    "sterling silver", "brass", "gold vermeil"], "textiles": ["linen", "wool", "cotton"],
    "leather": ["leather"], "woodwork": ["oak", "walnut", "ash"], "glass": ["glass"]}
TYPES = {"ceramics": ["mug", "bowl", "vase", "plate", "teapot"], "jewellery": [
    "ring", "necklace", "earrings", "bracelet"], "textiles": ["scarf", "cushion cover",
    "tea towel", "blanket"], "leather": ["wallet", "belt", "card holder"], "woodwork": [
    "chopping board", "spoon", "serving board"], "glass": ["tumbler", "carafe", "vase"]}
STYLES = ["speckled", "hand-thrown", "hammered", "woven", "carved", "minimal", "striped",
          "botanical", "rustic", "modern"]
QUERIES = ["blue mug", "silver ring for my wife", "linen tea towel", "walnut board",
           "gift for a housewarming", "green glass vase", "wool scarf", "leather wallet"]


def distinct_queries(n: int, seed: int = 11) -> list[str]:
    """``n`` different shopper-like queries, so no query vector is served from the cache."""
    rng = random.Random(seed)
    kinds = sorted({k for ks in TYPES.values() for k in ks})
    recipients = ["", " for my sister", " for a wedding", " gift", " for mum", " for him"]
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen[f"{rng.choice(STYLES)} {rng.choice(COLOURS)} {rng.choice(kinds)}"
             f"{rng.choice(recipients)}"] = None
    return list(seen)


def synthetic_catalog(n: int, seed: int = 7) -> list[ProductDoc]:
    rng = random.Random(seed)
    docs = []
    for i in range(1, n + 1):
        category = rng.choice(list(TYPES))
        kind, material = rng.choice(TYPES[category]), rng.choice(MATERIALS[category])
        colour, style = rng.choice(COLOURS), rng.choice(STYLES)
        name = f"{style.title()} {material} {kind} — {colour} no. {i}"
        price = Decimal(rng.randrange(800, 40000)) / 100
        docs.append(ProductDoc(
            id=i, name=name, description=f"A {style} {kind} in {colour} {material}.",
            category=category, currency="EUR", image_url="",
            variants=(VariantDoc(sku=f"SYN-{i}", price=price, stock=rng.randrange(0, 20),
                                 attributes={"type": kind, "colour": colour,
                                             "material": material}),)))
    return docs


def _rss_mb() -> float:
    """Resident memory now (not the peak: the model load would hide the index)."""
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def _command_output(args: list[str]) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                            check=True, timeout=1800)
    return result.stdout.strip()


def relevance(report: Report) -> None:
    """The documented evaluation commands on the demo relevance sets, as they print."""
    out = Path(tempfile.mkdtemp(prefix="atelier-eval-")) / "run.tsv"
    demo = ROOT / "knowledge" / "search_eval"
    search_text = _command_output([
        "-m", "knowledge.eval_search", "--products",
        str(ROOT / "commerce_core" / "demo" / "catalog.csv"), "--queries",
        str(demo / "queries.tsv"), "--labels", str(demo / "labels.tsv"), "--out", str(out)])
    faq_text = _command_output(["-m", "knowledge.eval_faq"])
    report.text("Relevance on the demo sets",
                "`make eval-search` on `knowledge/search_eval/` (161 graded queries):\n\n"
                f"```\n{search_text}\n```\n\n`python -m knowledge.eval_faq` on "
                f"`knowledge/faq_eval/`:\n\n```\n{faq_text}\n```")


def run(report: Report) -> None:
    faiss.omp_set_num_threads(1)
    embedder = get_embedder("all-MiniLM-L6-v2")

    texts = [f"{s} {m} {t} in {c}" for s, m, t, c in itertools.islice(itertools.product(
        STYLES, ["stoneware", "linen", "oak"], ["mug", "scarf", "board"], COLOURS), 900)]
    start = time.perf_counter()
    embedder.encode(texts, batch_size=64)
    throughput = len(texts) / (time.perf_counter() - start)

    faq = FaqService(directory=ROOT / "knowledge" / "faq", embedder_factory=lambda: embedder)
    faq.reload()
    with (ROOT / "knowledge" / "faq_eval" / "paraphrases.tsv").open() as f:
        questions = [row[0] for row in csv.reader(f, delimiter="\t")
                     if row and not row[0].startswith("#")][:200]
    faq_series = Series("FAQ answer (service), new question")
    faq_again = Series("FAQ answer (service), question asked before")
    asked = itertools.cycle(questions)

    def new_question() -> None:
        embedder.clear_query_cache()
        faq.answer(next(asked))

    for _ in range(RUNS):
        faq_series.runs.append(time_calls(new_question, SAMPLES))
        faq_again.runs.append(time_calls(lambda: faq.answer(next(asked)), SAMPLES))
    faq.close()

    docs = synthetic_catalog(SYNTHETIC)
    rss_before = _rss_mb()
    start = time.perf_counter()
    index = ProductIndex.build(docs=docs, embedder=embedder)
    build_seconds = time.perf_counter() - start
    rss_after = _rss_mb()
    plain = Series(f"search, {SYNTHETIC:,} products ({index.kind}), no filter")
    priced = Series(f"search, {SYNTHETIC:,} products, colour + price filter")
    queries = iter(distinct_queries(2 * RUNS * SAMPLES))
    colour_price = SearchFilters(attributes={"colour": ("blue",)}, max_price=Decimal("60"))
    for _ in range(RUNS):
        plain.runs.append(time_calls(lambda: search(
            index=index, embedder=embedder, query=next(queries), limit=10,
            filters=SearchFilters()), SAMPLES))
        priced.runs.append(time_calls(lambda: search(
            index=index, embedder=embedder, query=next(queries), limit=10,
            filters=colour_price), SAMPLES))

    report.latency_table(
        "Knowledge: FAQ answers and search at 50,000 products",
        [faq_series, faq_again, plain, priced],
        "One FAISS thread, one torch thread per query. Every search query is a new text, "
        "so its time includes encoding it; a question asked before reuses its cached "
        "vector. Synthetic products have short titles and descriptions.")
    report.plot("knowledge_latency", "FAQ and 50k-product search latency",
                [faq_series, faq_again, plain, priced])
    report.text("Embedding and index build", "\n".join([
        f"- embedding throughput: {throughput:.0f} short texts/s (batch 64)",
        f"- {SYNTHETIC:,}-product index ({index.kind}) built in {build_seconds:.0f} s "
        f"including embedding; resident memory grew from {rss_before:.0f} MB to "
        f"{rss_after:.0f} MB",
    ]))
