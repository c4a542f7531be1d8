"""50 shoppers race for the last 5 units: exactly 5 orders, stock never negative."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.cart.schemas import LineIn
from commerce_core.cart.service import OutOfStock, add_line
from commerce_core.customer.service import get_or_create_customer
from commerce_core.db import make_engine
from commerce_core.models import Order, Variant
from commerce_core.order.schemas import CheckoutIn
from commerce_core.order.service import checkout

SKU = "CER-MUG-005"
SHOPPERS = 50
UNITS = 5
DETAILS = CheckoutIn.model_validate({
    "email": "racer@example.com",
    "address": {"name": "R Acer", "line1": "1 quai Est", "city": "Lyon", "postal_code": "69001",
                "country": "FR"}})


def test_concurrent_checkouts_never_oversell(catalog: sessionmaker[Session]) -> None:
    # every shopper holds a connection at once, as 50 app workers would
    engine = make_engine(catalog.kw["bind"].url.render_as_string(hide_password=False),
                         pool_size=SHOPPERS + 5, max_overflow=0)
    demo_catalog = sessionmaker(engine, expire_on_commit=False)
    # given: 50 carts holding the variant, and 5 units left
    with demo_catalog() as session:
        variant = session.scalar(select(Variant).where(Variant.sku == SKU))
        variant.stock = SHOPPERS
        session.commit()
    customers = []
    for i in range(SHOPPERS):
        with demo_catalog() as session:
            customer = get_or_create_customer(session=session, channel="web",
                                              external_id=f"racer-{i}")
            add_line(session=session, customer=customer, line=LineIn(sku=SKU, quantity=1),
                     today=datetime.now(UTC).date())
            session.commit()
            customers.append(customer.id)
    with demo_catalog() as session:
        session.scalar(select(Variant).where(Variant.sku == SKU)).stock = UNITS
        session.commit()

    # when: all of them check out at once
    barrier = threading.Barrier(SHOPPERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(index: int) -> None:
        barrier.wait(timeout=60)
        with demo_catalog() as session:
            customer = get_or_create_customer(session=session, channel="web",
                                              external_id=f"racer-{index}")
            try:
                checkout(session=session, customer=customer, details=DETAILS,
                         now=datetime.now(UTC))
                session.commit()
                result = "ordered"
            except OutOfStock:
                session.rollback()
                result = "sold_out"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(SHOPPERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # then
    assert len(outcomes) == SHOPPERS
    assert outcomes.count("ordered") == UNITS
    assert outcomes.count("sold_out") == SHOPPERS - UNITS
    with demo_catalog() as session:
        assert session.scalar(select(Variant.stock).where(Variant.sku == SKU)) == 0
        assert session.scalar(select(func.count(Order.id))) == UNITS
    engine.dispose()


@pytest.fixture
def catalog(demo_catalog: sessionmaker[Session]) -> sessionmaker[Session]:
    return demo_catalog
