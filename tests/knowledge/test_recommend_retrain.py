"""The operator's path: ``load-demo`` brings the demo orders, ``retrain`` learns them with
a progress bar and writes the snapshot the service starts from; the service then learns
what was paid after the snapshot."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from commerce_core.db import make_engine
from commerce_core.demo import orders as demo_orders
from commerce_core.models import Order, OrderLine, Variant
from commerce_core.models.order import OrderStatus, PaymentStatus
from knowledge.product_index import ProductIndex
from knowledge.recommend.service import SNAPSHOT_FILE, RecommendService, load_snapshot

REPO = Path(__file__).resolve().parents[2]


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATELIER_DATA_DIR": str(data_dir), "ATELIER_DATABASE_URL": "",
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_retrain_learns_the_demo_orders_and_the_service_continues_from_it(
        tmp_path: Path) -> None:
    loaded = _run(tmp_path, "commerce_core", "load-demo")
    assert loaded.returncode == 0, loaded.stderr
    assert f"{demo_orders.ORDERS} demo orders loaded" in loaded.stdout
    again = _run(tmp_path, "commerce_core", "load-demo")
    assert "demo orders already loaded" in again.stdout
    # when
    done = _run(tmp_path, "knowledge.recommend", "retrain")
    # then
    assert done.returncode == 0, done.stderr
    assert f"recommender: {demo_orders.ORDERS} paid orders over" in done.stdout
    assert "Learning orders: 100%" in done.stderr  # the progress bar
    snapshot = tmp_path / "index" / SNAPSHOT_FILE
    model, learnt = load_snapshot(snapshot)  # type: ignore[misc]
    assert model.baskets == len(learnt) == demo_orders.ORDERS

    # given an order paid while no service was running
    factory = sessionmaker(make_engine(f"sqlite:///{tmp_path / 'atelier.db'}"),
                           expire_on_commit=False)
    with factory() as session:
        mug, collar = (session.scalar(select(Variant).where(Variant.sku == sku))
                       for sku in ("CER-MUG-001", "LTH-DOG-001"))
        customer = session.scalar(select(Order.customer_id).limit(1))
        now = datetime.now(UTC)
        session.add(Order(
            number="LATE-1", customer_id=customer, email="late@example.com",
            shipping_address={}, status=OrderStatus.PAID, payment_status=PaymentStatus.PAID,
            currency="EUR", subtotal=Decimal(0), shipping=Decimal(0), tax=Decimal(0),
            total=Decimal(0), ready_by="2026-12-01", reserved_until=None, created_at=now,
            lines=[OrderLine(variant_id=v.id, sku=v.sku, name=v.sku, options={},
                             unit_price=v.price, quantity=1, line_total=v.price)
                   for v in (mug, collar)]))
        session.commit()
    before = model.together(mug.product_id, collar.product_id)
    # when a service starts from the snapshot
    service = RecommendService(index=_not_read, session_factory=factory,
                               directory=tmp_path / "index", follow_orders=False)
    # then it learnt the late order too, and nothing twice
    assert service.model.together(mug.product_id, collar.product_id) == before + 1
    assert service.model.baskets == demo_orders.ORDERS + 1
    for product in (mug.product_id, collar.product_id):
        position = service.model.position[product]
        assert service.model.frequency()[position] == model.frequency()[position] + 1


def _not_read() -> ProductIndex:
    raise AssertionError("learning reads no product index")
