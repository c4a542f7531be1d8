"""Shared fixtures: real databases (SQLite and PostgreSQL) through Alembic, real Redis.

``make test`` points ``ATELIER_TEST_DATABASE_URL`` / ``ATELIER_TEST_REDIS_URL`` at real
servers (this machine's, or throwaway ones it starts). Without them the PostgreSQL and
Redis tests fail with a clear message, never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.db import make_engine
from commerce_core.migrate import upgrade
from commerce_core.models import Base

REPO = Path(__file__).resolve().parent.parent
DEMO_CATALOG = REPO / "commerce_core" / "demo" / "catalog.csv"
DEMO_RULES = REPO / "commerce_core" / "demo" / "customization"
DEMO_FAQ = REPO / "knowledge" / "faq"


def demo_faq_answer(file: str, question: str) -> str:
    """A demo FAQ entry's answer as the shopper reads it: the file's line wraps joined."""
    from knowledge.faq_parser import read_faq_file
    from knowledge.faq_text import join_paragraphs

    return join_paragraphs(next(e.answer for e in read_faq_file(DEMO_FAQ / file).entries
                                if e.question == question))


def _require_env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: these tests need a real {what}. Run them with "
                    "'make test' (it starts one when none is configured) or set the variable.",
                    pytrace=False)
    return value


def _admin_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith(
        "postgresql://") else url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    admin = _admin_url(_require_env("ATELIER_TEST_DATABASE_URL", "PostgreSQL server"))
    name = f"atelier_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - turned into a clear failure
        pytest.fail(f"cannot create a test database on {admin}: {exc}", pytrace=False)
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    yield url
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _migrated(url: str) -> Engine:
    upgrade(url)
    return make_engine(url)


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'atelier.db'}"
    engine = _migrated(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = _migrated(postgres_url)
    yield engine
    engine.dispose()


def _clean(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite_engine", "postgres_engine"], ids=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database on each backend; emptied again after the test."""
    engine: Engine = request.getfixturevalue(request.param)
    _clean(engine)
    yield engine
    _clean(engine)


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def redis_url() -> str:
    return _require_env("ATELIER_TEST_REDIS_URL", "Redis server")


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"atelier-test:{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def demo_catalog(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The demo shop (catalog + customisation rules) loaded through the merchant import path."""
    from commerce_core.catalog.importer import import_catalog, read_catalog_file
    from commerce_core.customization.loader import load_rule_files

    with session_factory() as session:
        report = import_catalog(session=session, text=read_catalog_file(DEMO_CATALOG))
        assert report.errors == []
        load_rule_files(session=session, directory=DEMO_RULES)
        session.commit()
    return session_factory
