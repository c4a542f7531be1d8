from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.catalog.importer import import_catalog, read_catalog_file
from knowledge.embedding import Embedder, get_embedder
from knowledge.product_index import ProductIndex, load_docs
from tests.conftest import DEMO_CATALOG, _migrated


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine = _migrated(f"sqlite:///{tmp_path_factory.mktemp('kdb') / 'demo.db'}")
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        import_catalog(session=session, text=read_catalog_file(DEMO_CATALOG))
        session.commit()
    yield factory
    engine.dispose()


@pytest.fixture(scope="session")
def demo_index(demo_db: sessionmaker[Session], embedder: Embedder) -> ProductIndex:
    with demo_db() as session:
        return ProductIndex.build(docs=load_docs(session), embedder=embedder)


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"
