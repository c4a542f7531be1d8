"""The snapshot keeps the EASE weights, so a restart reads them instead of inverting the
matrix again; orders paid or undone while the service was stopped still count."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.db import make_engine
from commerce_core.demo import orders as demo_orders
from commerce_core.models import Order, OrderLine, Variant
from commerce_core.models.order import OrderStatus, PaymentStatus
from knowledge.product_index import ProductIndex
from knowledge.recommend import service as recommend_service
from knowledge.recommend.basket import BasketModel, EaseWeights
from knowledge.recommend.service import RecommendService
from knowledge.recommend.snapshot import SNAPSHOT_FILE, SNAPSHOT_FORMAT, load_snapshot
from tests.conftest import DEMO_CATALOG, _migrated


@pytest.fixture(scope="module")
def demo_shop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo catalog and its year of demo orders, in a SQLite file each test copies."""
    path = tmp_path_factory.mktemp("snapshot") / "shop.db"
    engine = _migrated(f"sqlite:///{path}")
    with sessionmaker(engine)() as session:
        import_catalog(session=session, text=read_catalog_file(DEMO_CATALOG))
        session.commit()
        demo_orders.load(session=session)
        session.commit()
    engine.dispose()
    return path


@pytest.fixture
def db(demo_shop_file: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    shutil.copy(demo_shop_file, tmp_path / "shop.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def _service(db: sessionmaker[Session], directory: Path) -> RecommendService:
    return RecommendService(index=_not_read, session_factory=db, directory=directory,
                            follow_orders=False)


def _not_read() -> ProductIndex:
    raise AssertionError("learning reads no product index")


def _never_solved(*_: object) -> EaseWeights:
    raise AssertionError("the EASE weights were recomputed")


def pay_late_order(db: sessionmaker[Session], *skus: str) -> tuple[int, list[int]]:
    """An order paid while no service ran: its id and its products."""
    with db() as session:
        variants = [session.scalar(select(Variant).where(Variant.sku == s)) for s in skus]
        customer = session.scalar(select(Order.customer_id).limit(1))
        now = datetime.now(UTC)
        order = Order(
            number="LATE-1", customer_id=customer, email="late@example.com",
            shipping_address={}, status=OrderStatus.PAID, payment_status=PaymentStatus.PAID,
            currency="EUR", subtotal=Decimal(0), shipping=Decimal(0), tax=Decimal(0),
            total=Decimal(0), ready_by="2026-12-01", reserved_until=None, created_at=now,
            lines=[OrderLine(variant_id=v.id, sku=v.sku, name=v.sku, options={},
                             unit_price=v.price, quantity=1, line_total=v.price)
                   for v in variants if v is not None])
        session.add(order)
        session.commit()
        return order.id, [v.product_id for v in variants if v is not None]


def _same_weights(a: EaseWeights, b: EaseWeights) -> bool:
    return (a.baskets == b.baskets and np.array_equal(a.items, b.items)
            and np.array_equal(a.weights, b.weights))


def test_a_restart_reads_the_ease_weights_instead_of_recomputing_them(
        db: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a service that learnt every order and wrote its snapshot
    first = _service(db, tmp_path / "index")
    learnt = first.model
    assert len(learnt.ease_weights.items) > 0
    first.close()
    # when another one starts from it
    monkeypatch.setattr(BasketModel, "solve_ease", _never_solved)
    again = _service(db, tmp_path / "index")
    # then it has the same weights without computing them
    assert again.model.baskets == learnt.baskets == demo_orders.ORDERS
    assert _same_weights(again.model.ease_weights, learnt.ease_weights)
    again.close()


def test_orders_paid_while_stopped_are_learnt_and_the_weights_follow(
        db: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "index"
    before = _service(db, directory).model
    order_id, (mug, collar) = pay_late_order(db, "CER-MUG-001", "LTH-DOG-001")
    # when the service starts again
    service = _service(db, directory)
    model = service.model
    # then the late order is learnt, and the EASE weights are those of the new counts
    assert model.together(mug, collar) == before.together(mug, collar) + 1
    weights = model.ease_weights
    assert weights.baskets == model.baskets == demo_orders.ORDERS + 1
    assert not _same_weights(weights, before.ease_weights)
    assert np.allclose(weights.weights, model.solve_ease(*model.ease_inputs()).weights)
    service.close()
    # and the snapshot was written again, so the next start neither relearns nor recomputes
    saved, learnt = load_snapshot(directory / SNAPSHOT_FILE)  # type: ignore[misc]
    assert order_id in learnt and saved.ease_weights.baskets == demo_orders.ORDERS + 1
    monkeypatch.setattr(BasketModel, "solve_ease", _never_solved)
    third = _service(db, directory)
    assert _same_weights(third.model.ease_weights, weights)
    third.close()


def test_a_large_shop_refits_on_a_thread_and_writes_the_weights(
        db: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "index"
    _service(db, directory).close()
    order_id, _ = pay_late_order(db, "CER-MUG-001", "LTH-DOG-001")
    monkeypatch.setattr(recommend_service, "SYNC_EASE_MAX", 0)  # every shop is "large"
    # when the service starts, the saved weights serve while new ones are computed
    service = _service(db, directory)
    assert service.model.baskets == demo_orders.ORDERS + 1
    service.close()  # waits for the refit
    # then the new weights are in use and on disk
    assert service.model.ease_weights.baskets == demo_orders.ORDERS + 1
    saved, learnt = load_snapshot(directory / SNAPSHOT_FILE)  # type: ignore[misc]
    assert order_id in learnt
    assert _same_weights(saved.ease_weights, service.model.ease_weights)


def test_an_order_undone_since_the_snapshot_is_unlearnt(
        db: sessionmaker[Session], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    order_id, (mug, collar) = pay_late_order(db, "CER-MUG-001", "LTH-DOG-001")
    before = _service(db, directory).model
    with db() as session:  # refunded while the service was stopped
        session.execute(update(Order).where(Order.id == order_id)
                        .values(status=OrderStatus.REFUNDED))
        session.commit()
    # when
    model = _service(db, directory).model
    # then
    assert model.baskets == before.baskets - 1 == demo_orders.ORDERS
    assert model.together(mug, collar) == before.together(mug, collar) - 1
    assert model.ease_weights.baskets == demo_orders.ORDERS


def test_a_snapshot_without_weights_has_them_computed(
        db: sessionmaker[Session], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    learnt = _service(db, directory).model
    path = directory / SNAPSHOT_FILE
    with np.load(path) as data:  # as the previous format wrote it
        old = {k: data[k] for k in data.files if not k.startswith("ease_")
               or k in ("ease_lambda", "ease_max_items")}
    np.savez(path, **(old | {"format": 1}))
    # when
    model = _service(db, directory).model
    # then
    assert model.baskets == learnt.baskets
    assert np.allclose(model.ease_weights.weights, learnt.ease_weights.weights)
    with np.load(path) as data:
        assert int(data["format"]) == SNAPSHOT_FORMAT
