"""Search benchmarks on the demo catalog: index build, embedding throughput, query latency
through the library and through the HTTP API (in-process ASGI client)."""

from __future__ import annotations

import itertools
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import faiss
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from benchmarks.common import Report, Series, service_header, time_calls
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.db import make_engine
from commerce_core.migrate import upgrade
from knowledge.config import KnowledgeSettings
from knowledge.embedding import get_embedder
from knowledge.product_index import ProductIndex, load_docs
from knowledge.search import SearchFilters, search

DEMO = Path(__file__).resolve().parents[1] / "commerce_core" / "demo" / "catalog.csv"
QUERIES = ["blue ceramic mug", "gift for my sister who likes green", "silver necklace",
           "leather wallet for dad", "linen tea towel", "a print for the living room",
           "scented candle", "oak chopping board", "wedding present", "notebook"]
RUNS, SAMPLES = 5, 60


def run(report: Report) -> None:
    faiss.omp_set_num_threads(1)
    workdir = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with factory() as session:
        import_catalog(session=session, text=read_catalog_file(DEMO))
        session.commit()
        docs = load_docs(session)

    start = time.perf_counter()
    embedder = get_embedder("all-MiniLM-L6-v2")
    model_load = time.perf_counter() - start
    builds = []
    for _ in range(3):
        start = time.perf_counter()
        index = ProductIndex.build(docs=docs, embedder=embedder)
        builds.append(time.perf_counter() - start)
    texts = [d.text for d in docs]

    rotation = itertools.cycle(QUERIES)

    def next_query() -> str:
        """The next phrasing, its cached vector dropped: every query is encoded afresh."""
        embedder.clear_query_cache()
        return next(rotation)

    colour_and_price = SearchFilters(attributes={"colour": ("blue",)}, max_price=Decimal("60"))

    def library_search(filters: SearchFilters) -> None:
        search(index=index, embedder=embedder, query=next_query(), limit=10, filters=filters)

    library = Series("library, no filter")
    filtered = Series("library, colour + price filter")
    encode = Series("encode one query")
    for _ in range(RUNS):
        library.runs.append(time_calls(lambda: library_search(SearchFilters()), SAMPLES))
        filtered.runs.append(time_calls(lambda: library_search(colour_and_price), SAMPLES))
        encode.runs.append(time_calls(lambda: embedder.encode_one(next_query()), SAMPLES))

    api = Series("HTTP API GET /api/products/search")
    app = create_app(GatewaySettings(), session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=workdir))
    with TestClient(app) as client:
        for _ in range(RUNS):
            api.runs.append(time_calls(lambda: client.get(
                "/api/products/search", params={"q": next_query(), "limit": 10},
                headers=service_header()).raise_for_status(), SAMPLES))

    report.latency_table(
        f"Product search at demo size ({len(docs)} products)",
        [encode, library, filtered, api],
        "One FAISS thread, one encoder thread per query; queries rotate over ten shopper "
        "phrasings, each encoded afresh (the query-vector cache is emptied before every "
        "call). The API figures include HTTP handling through an in-process ASGI client.")
    report.plot("search_latency", "Search latency, demo catalog", [encode, library, filtered,
                                                                    api])
    throughput = len(texts) / min(builds)
    report.text("Index build", "\n".join([
        f"- model load: {model_load:.1f} s (first load in the process)",
        f"- full build of {len(docs)} products: best {min(builds):.2f} s, "
        f"worst {max(builds):.2f} s over {len(builds)} builds",
        f"- embedding throughput while building: {throughput:.0f} products/s",
    ]))
