"""Checkout benchmark: orders per second through the HTTP API on SQLite and PostgreSQL.

Each order is a new shopper adding a mug to the cart and checking out (two requests,
the checkout timed on its own). The API runs in process behind an ASGI client, so the
figures are the app's own cost without network.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from benchmarks.common import Report, Series
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.db import make_engine
from commerce_core.migrate import upgrade
from commerce_core.models import Variant
from knowledge.config import KnowledgeSettings

DEMO = Path(__file__).resolve().parents[1] / "commerce_core" / "demo" / "catalog.csv"
HEADERS = {"Authorization": "Bearer change-me"}
ADDRESS = {"name": "Bench Mark", "line1": "1 rue du Test", "city": "Lyon",
           "postal_code": "69001", "country": "FR"}
RUNS, ORDERS = 3, 40


def _orders(url: str, workdir: Path) -> tuple[Series, list[float]]:
    upgrade(url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        import_catalog(session=session, text=read_catalog_file(DEMO))
        session.execute(update(Variant).values(stock=100_000))
        session.commit()
    series = Series("checkout")
    rates = []
    app = create_app(GatewaySettings(warm_search_on_start=False), session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=workdir))
    with TestClient(app, headers=HEADERS) as client:
        for _ in range(RUNS):
            samples = []
            start = time.perf_counter()
            for _ in range(ORDERS):
                base = f"/api/shoppers/api/bench-{uuid.uuid4().hex[:12]}"
                client.post(f"{base}/cart/lines", json={"sku": "CER-MUG-001"})
                t0 = time.perf_counter()
                response = client.post(f"{base}/checkout",
                                       json={"email": "bench@example.com", "address": ADDRESS})
                samples.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 201, response.text
            rates.append(ORDERS / (time.perf_counter() - start))
            series.runs.append(samples)
    engine.dispose()
    return series, rates


def _postgres_database() -> tuple[str, str] | None:
    admin = os.environ.get("ATELIER_BENCH_DATABASE_URL") or os.environ.get(
        "ATELIER_TEST_DATABASE_URL")
    if not admin:
        return None
    admin = admin.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"atelier_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin, make_url(admin).set(database=name).render_as_string(hide_password=False)


def _drop(admin: str, url: str) -> None:
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def run(report: Report) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="atelier-checkout-"))
    results = []
    sqlite, sqlite_rates = _orders(f"sqlite:///{workdir / 'bench.db'}", workdir)
    sqlite.name = "checkout, SQLite"
    results.append((sqlite, sqlite_rates))
    pg = _postgres_database()
    if pg is not None:
        admin, url = pg
        try:
            series, rates = _orders(url, workdir)
        finally:
            _drop(admin, url)
        series.name = "checkout, PostgreSQL"
        results.append((series, rates))
    report.latency_table(
        "Checkout through the API",
        [s for s, _ in results],
        f"{RUNS} runs × {ORDERS} orders, each a new shopper: add a mug, then check out "
        "(timed). In-process ASGI client, one request at a time.")
    lines = [f"- {s.name}: {sorted(r)[len(r) // 2]:.1f} orders/s median over {len(r)} runs "
             f"(cart + checkout requests), range {min(r):.1f}–{max(r):.1f}"
             for s, r in results]
    if pg is None:
        lines.append("- PostgreSQL: not measured (set ATELIER_BENCH_DATABASE_URL)")
    report.text("Checkout throughput", "\n".join(lines))
    report.plot("checkout_latency", "Checkout latency", [s for s, _ in results])
