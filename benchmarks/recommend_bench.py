"""Recommendation latency on a 10,000-product catalog with 40,000 paid orders: the
service call and ``GET /api/recommendations`` (in-process ASGI client), 10 products;
``GET /api/health`` in the same runs shows what the HTTP stack and the machine's load
cost any request.

The catalog and the orders are generated (seed 14): ten categories, colours, materials
and log-normal prices; orders of one to five products drawn with a Zipf popularity and a
preference for the first product's category. The product vectors are random unit
vectors saved as the product index (embedding 10,000 texts would take minutes and does
not change the timing: the recommender only multiplies them).
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import sessionmaker

from benchmarks.common import Report, Series, service_header, time_calls
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog
from commerce_core.customer.service import get_or_create_customer
from commerce_core.db import make_engine
from commerce_core.migrate import upgrade
from commerce_core.models import Order, OrderLine, Variant
from commerce_core.models.order import OrderStatus, PaymentStatus
from knowledge.config import KnowledgeSettings
from knowledge.product_index import ProductIndex, VectorStore, load_docs
from knowledge.recommend.service import RecommendService

PRODUCTS, ORDERS, SEED = 10_000, 40_000, 14
CATEGORIES = ["ceramics", "prints", "jewellery", "textiles", "leather", "candles", "glass",
              "woodwork", "stationery", "toys"]
COLOURS = ["blue", "green", "red", "white", "black", "pink", "gold", "silver", "brown"]
RUNS, SAMPLES = 5, 60


def _catalog(rng: random.Random) -> str:
    lines = ["sku,name,description,category,price,currency,stock,attributes,image_url"]
    for n in range(PRODUCTS):
        category = CATEGORIES[n % len(CATEGORIES)]
        colour = rng.choice(COLOURS)
        price = Decimal(str(round(rng.lognormvariate(3.5, 0.6), 2)))
        stock = 0 if rng.random() < 0.05 else rng.randint(1, 30)
        lines.append(f"B-{n:05d},{colour.title()} {category} piece {n},A handmade piece.,"
                     f"{category},{price},EUR,{stock},colour:{colour}|type:{category},")
    return "\n".join(lines) + "\n"


def _orders(factory: sessionmaker, rng: random.Random) -> None:
    with factory() as session:
        variants = list(session.execute(select(Variant.id, Variant.sku, Variant.price)))
        customers = [get_or_create_customer(session=session, channel="web",
                                            external_id=f"bench-{n}").id for n in range(500)]
        session.commit()
        weights = np.array([1.0 / (k + 1) ** 0.7 for k in range(len(variants))])
        weights /= weights.sum()
        order_rows, line_rows = [], []
        when = datetime(2026, 1, 1, tzinfo=UTC)
        for number in range(1, ORDERS + 1):
            first = int(np.searchsorted(np.cumsum(weights), rng.random()))
            picked = {first}
            for _ in range(rng.randint(0, 4)):  # same category (every 10th) or anywhere
                other = (first + 10 * rng.randint(-50, 50)) % len(variants) \
                    if rng.random() < 0.6 else rng.randrange(len(variants))
                picked.add(other)
            order_rows.append({
                "id": number, "number": f"B{number:07d}", "customer_id": rng.choice(customers),
                "email": "bench@example.com", "shipping_address": {}, "currency": "EUR",
                "status": OrderStatus.DELIVERED, "payment_status": PaymentStatus.PAID,
                "subtotal": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
                "total": Decimal(0), "ready_by": "2026-01-01", "reserved_until": None,
                "created_at": when, "updated_at": when})
            for k in picked:
                variant_id, sku, price = variants[k]
                line_rows.append({"order_id": number, "variant_id": variant_id, "sku": sku,
                                  "name": sku, "options": {}, "unit_price": price,
                                  "quantity": 1, "line_total": price})
        session.execute(insert(Order), order_rows)
        session.execute(insert(OrderLine), line_rows)
        session.commit()


def run(report: Report) -> None:
    rng = random.Random(SEED)
    workdir = Path(tempfile.mkdtemp(prefix="atelier-recs-bench-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with factory() as session:
        import_catalog(session=session, text=_catalog(rng))
        session.commit()
    _orders(factory, rng)
    with factory() as session:
        docs = load_docs(session)
    vectors = np.random.default_rng(SEED).standard_normal((len(docs), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = VectorStore.empty("flat", 384)
    store.add(np.array([d.id for d in docs], dtype=np.int64), vectors)
    index = ProductIndex(docs=docs, vectors=store, model_name="all-MiniLM-L6-v2")
    index.save(workdir / "index")  # the app finds it up to date and embeds nothing

    service = RecommendService(index=lambda: index, session_factory=factory,
                               directory=workdir / "index", follow_orders=False)
    start = time.perf_counter()
    service.view()
    learn = time.perf_counter() - start
    service.close()
    service = RecommendService(index=lambda: index, session_factory=factory,
                               directory=workdir / "index", follow_orders=False)
    start = time.perf_counter()
    service.view()  # a restart: the snapshot holds the counts and the EASE weights
    restart = time.perf_counter() - start
    ids = [d.id for d in docs]
    carts = [[rng.choice(ids) for _ in range(rng.randint(1, 3))] for _ in range(50)]
    rotation = iter(carts * (RUNS * SAMPLES * 3))

    calls = Series("service: cart of 1–3 products")
    with_history = Series("service: cart + the shopper's past orders (kept after one query)")
    for _ in range(RUNS):
        calls.runs.append(time_calls(lambda: service.recommend(cart=next(rotation), limit=10),
                                     SAMPLES))
        with_history.runs.append(time_calls(lambda: service.recommend(
            cart=next(rotation), limit=10,
            bought=service.history_of(channel="web", external_id="bench-7")), SAMPLES))
    service.close()

    api = Series("HTTP API GET /api/recommendations (shopper + cart)")
    health = Series("HTTP API GET /api/health (same stack and database, no recommending)")
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=workdir))
    with TestClient(app) as client:
        client.get("/api/recommendations", headers=service_header()).raise_for_status()
        for _ in range(RUNS):
            api.runs.append(time_calls(lambda: client.get(
                "/api/recommendations", headers=service_header(),
                params={"shopper": "web:bench-7", "limit": 10,
                        "cart": ",".join(map(str, next(rotation)))}).raise_for_status(),
                SAMPLES))
            health.runs.append(time_calls(
                lambda: client.get("/api/health").raise_for_status(), SAMPLES))
    report.latency_table(
        f"Recommendations, {len(docs):,} products and {ORDERS:,} paid orders",
        [calls, with_history, api, health],
        f"10 products per call (hybrid: EASE on the 5,000 most bought products, item "
        f"cosine, content, popularity; out of stock and the cart excluded). Learning the "
        f"orders and the EASE inverse took {learn:.1f} s at the first start; a restart "
        f"from the snapshot (counts and EASE weights) took {restart:.1f} s.")


if __name__ == "__main__":
    report = Report()
    run(report)
    print("\n\n".join(report.sections))  # noqa: T201
