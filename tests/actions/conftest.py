"""Fixtures of the action tests: the actions reach a real app in process over HTTP, on
SQLite (both database backends are covered by the API's own tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.actions.service_helpers import start_shop
from tests.actions.shopping_helpers import open_shop
from tests.conftest import _clean, demo_faq_answer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "service_shop: the module's ``shop`` fixture is the "
                                       "after-sale one (service_helpers.Shop)")


@pytest.fixture
def engine(sqlite_engine: Engine) -> Iterator[Engine]:
    """The migrated SQLite database, empty before and after each test."""
    _clean(sqlite_engine)
    yield sqlite_engine
    _clean(sqlite_engine)


@pytest.fixture
def shop(request: pytest.FixtureRequest, demo_catalog: sessionmaker[Session],
         tmp_path: Path) -> Iterator[Any]:
    """The demo shop's app: by default the shopping one (``shopping_helpers.Shop``); a
    module of after-sale and handoff tests marked ``service_shop`` gets
    ``service_helpers.Shop``."""
    if request.node.get_closest_marker("service_shop") is not None:
        yield from start_shop(demo_catalog, tmp_path)
    else:
        yield from open_shop(demo_catalog)


@pytest.fixture(scope="module")
def faq_shop(sqlite_engine: Engine, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Any]:
    """One app with an empty shop for a module of FAQ tests (``service_helpers.Shop``):
    loading the FAQ's embedding model is the slow part, and these tests change no data."""
    yield from start_shop(sessionmaker(sqlite_engine, expire_on_commit=False),
                          tmp_path_factory.mktemp("faq-shop"))


@pytest.fixture(scope="session")
def shipping_answer() -> str:
    return demo_faq_answer("shipping.md", "How long does delivery take?")
