"""Knowledge benchmarks: query encoding, embedding throughput, FAQ answer latency, and
product search at 50,000 synthetic products (HNSW) through the library and the HTTP API."""

from __future__ import annotations

import csv
import io
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import faiss
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.common import Report, Series, service_header, time_calls
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog
from commerce_core.db import make_engine
from commerce_core.migrate import upgrade
from knowledge.config import KnowledgeSettings
from knowledge.embedding import Embedder, get_embedder
from knowledge.faq_service import FaqService
from knowledge.product_index import ProductDoc, ProductIndex, VariantDoc, load_docs
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


def synthetic_shop(workdir: Path, docs: list[ProductDoc]) -> sessionmaker[Session]:
    """A scratch SQLite shop holding ``docs``, imported as the merchant's CSV would be."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["sku", "name", "description", "category", "price", "currency", "stock",
                     "attributes", "image_url", "handle"])
    for doc in docs:
        for variant in doc.variants:
            writer.writerow([variant.sku, doc.name, doc.description, doc.category,
                             f"{variant.price:.2f}", doc.currency, variant.stock,
                             "|".join(f"{k}:{v}" for k, v in variant.attributes.items()),
                             doc.image_url, ""])
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with factory() as session:
        result = import_catalog(session=session, text=text.getvalue())
        session.commit()
    if result.errors:
        raise RuntimeError(f"synthetic catalog rows rejected: {result.errors[:3]}")
    return factory


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


@dataclass(frozen=True)
class FaqBuild:
    entries: int
    seconds: float
    rss_before: float
    rss_after: float


def faq_latency(embedder: Embedder) -> tuple[Series, Series, FaqBuild]:
    """FAQ answers to new questions (each encoded afresh) and to questions asked before
    (their vectors cached), through the service on the demo FAQ; and what building its
    index took (time, resident memory, the embedder already loaded)."""
    faq = FaqService(directory=ROOT / "knowledge" / "faq", embedder_factory=lambda: embedder)
    rss_before = _rss_mb()
    start = time.perf_counter()
    faq.reload()
    build = FaqBuild(len(faq.entries), time.perf_counter() - start, rss_before, _rss_mb())
    with (ROOT / "knowledge" / "faq_eval" / "paraphrases.tsv").open() as f:
        questions = [row[0] for row in csv.reader(f, delimiter="\t")
                     if row and not row[0].startswith("#")][:200]
    fresh = Series("FAQ answer (service), new question")
    again = Series("FAQ answer (service), question asked before")
    asked = itertools.cycle(questions)

    def new_question() -> None:
        embedder.clear_query_cache()
        faq.answer(next(asked))

    repeated = questions[:SAMPLES]
    asked_again = itertools.cycle(repeated)
    for _ in range(RUNS):
        for question in repeated:  # asked once, so their vectors are in the cache
            faq.answer(question)
        again.runs.append(time_calls(lambda: faq.answer(next(asked_again)), SAMPLES))
        fresh.runs.append(time_calls(new_question, SAMPLES))
    faq.close()
    return fresh, again, build


def run(report: Report) -> None:
    faiss.omp_set_num_threads(1)
    embedder = get_embedder("all-MiniLM-L6-v2")

    texts = [f"{s} {m} {t} in {c}" for s, m, t, c in itertools.islice(itertools.product(
        STYLES, ["stoneware", "linen", "oak"], ["mug", "scarf", "board"], COLOURS), 900)]
    start = time.perf_counter()
    embedder.encode(texts, batch_size=64)
    throughput = len(texts) / (time.perf_counter() - start)

    # One new query at a time through ONNX Runtime.
    fresh = iter(distinct_queries(RUNS * SAMPLES, seed=5))
    onnx_series = Series("encode one new query, ONNX Runtime (1 thread)")
    for _ in range(RUNS):
        onnx_series.runs.append(time_calls(lambda: embedder.encode_one(next(fresh)), SAMPLES))

    faq_series, faq_again, faq_build = faq_latency(embedder)

    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-50k-"))
    start = time.perf_counter()
    factory = synthetic_shop(workdir, synthetic_catalog(SYNTHETIC))
    import_seconds = time.perf_counter() - start
    with factory() as session:
        docs = load_docs(session)
    rss_before = _rss_mb()
    start = time.perf_counter()
    index = ProductIndex.build(docs=docs, embedder=embedder)
    build_seconds = time.perf_counter() - start
    rss_after = _rss_mb()
    index.save(workdir / "index")  # the app below loads it instead of building anew
    plain = Series(f"search, {SYNTHETIC:,} products ({index.kind}), no filter")
    priced = Series(f"search, {SYNTHETIC:,} products, colour + price filter")
    queries = iter(distinct_queries(3 * RUNS * SAMPLES + 1))
    colour_price = SearchFilters(attributes={"colour": ("blue",)}, max_price=Decimal("60"))
    for _ in range(RUNS):
        plain.runs.append(time_calls(lambda: search(
            index=index, embedder=embedder, query=next(queries), limit=10,
            filters=SearchFilters()), SAMPLES))
        priced.runs.append(time_calls(lambda: search(
            index=index, embedder=embedder, query=next(queries), limit=10,
            filters=colour_price), SAMPLES))

    api = Series(f"search, {SYNTHETIC:,} products, HTTP API GET /api/products/search")
    app = create_app(GatewaySettings(), session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=workdir))

    def api_search(client: TestClient) -> None:
        embedder.clear_query_cache()
        client.get("/api/products/search", params={"q": next(queries), "limit": 10},
                   headers=service_header()).raise_for_status()

    with TestClient(app) as client:
        api_search(client)  # the first request loads the saved index
        for _ in range(RUNS):
            api.runs.append(time_calls(lambda: api_search(client), SAMPLES))

    report.latency_table(
        "Knowledge: FAQ answers and search at 50,000 products",
        [onnx_series, faq_series, faq_again, plain, priced, api],
        "One FAISS thread, one ONNX Runtime thread per query. Every search query is a new text, "
        "so its time includes encoding it; a question asked before reuses its cached "
        "vector. Synthetic products have short titles and descriptions. The API figures go "
        "through an in-process ASGI client to the app over the same products in SQLite.")
    report.plot("knowledge_latency", "Query encoding, FAQ and 50k-product search latency",
                [onnx_series, faq_series, faq_again, plain, priced, api])
    report.text("Embedding and index build", "\n".join([
        f"- embedding throughput: {throughput:.0f} short texts/s (batch 64)",
        f"- the demo FAQ's index ({faq_build.entries} entries, token vectors included) "
        f"built in {faq_build.seconds:.1f} s; resident memory grew from "
        f"{faq_build.rss_before:.0f} MB to {faq_build.rss_after:.0f} MB",
        f"- {SYNTHETIC:,} synthetic products imported as merchant CSV in "
        f"{import_seconds:.0f} s",
        f"- {SYNTHETIC:,}-product index ({index.kind}) built in {build_seconds:.0f} s "
        f"including embedding; resident memory grew from {rss_before:.0f} MB to "
        f"{rss_after:.0f} MB",
    ]))
