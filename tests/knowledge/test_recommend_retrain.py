"""The operator's path: ``load-demo`` brings the demo orders, ``retrain`` learns them with
a progress bar and writes the snapshot the service starts from; the service then learns
what was paid after the snapshot."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from commerce_core.db import make_engine
from commerce_core.demo import orders as demo_orders
from knowledge.product_index import ProductIndex
from knowledge.recommend.service import RecommendService
from knowledge.recommend.snapshot import SNAPSHOT_FILE, load_snapshot
from tests.knowledge.test_recommend_snapshot import pay_late_order

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
    _, (mug, collar) = pay_late_order(factory, "CER-MUG-001", "LTH-DOG-001")
    before = model.together(mug, collar)
    # when a service starts from the snapshot
    service = RecommendService(index=_not_read, session_factory=factory,
                               directory=tmp_path / "index", follow_orders=False)
    # then it learnt the late order too, and nothing twice
    assert service.model.together(mug, collar) == before + 1
    assert service.model.baskets == demo_orders.ORDERS + 1
    for product in (mug, collar):
        position = service.model.position[product]
        assert service.model.frequency()[position] == model.frequency()[position] + 1


def _not_read() -> ProductIndex:
    raise AssertionError("learning reads no product index")
