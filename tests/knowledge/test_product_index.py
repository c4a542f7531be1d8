import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models import Product
from knowledge.embedding import Embedder
from knowledge.product_index import META_FILE, ProductIndex, load_docs


def _never() -> Embedder:
    raise AssertionError("the index should have been loaded, not rebuilt")


def test_index_is_persisted_with_model_and_hash_and_reloaded_without_the_model(
        demo_db: sessionmaker[Session], embedder: Embedder, index_dir: Path) -> None:
    with demo_db() as session:
        built = ProductIndex.load_or_build(docs=load_docs(session), embedder=lambda: embedder,
                                           model_name=embedder.name, directory=index_dir)
        meta = json.loads((index_dir / META_FILE).read_text())
        assert meta["model"] == "all-MiniLM-L6-v2" and meta["dimension"] == 384
        assert meta["count"] == len(built.docs) >= 300
        assert meta["inputs_hash"] == built.digest
        loaded = ProductIndex.load_or_build(docs=load_docs(session), embedder=_never,
                                            model_name=embedder.name, directory=index_dir)
        assert loaded.digest == built.digest and loaded.faiss.ntotal == built.faiss.ntotal


def test_catalog_change_or_other_model_rebuilds(demo_db: sessionmaker[Session],
                                                embedder: Embedder, index_dir: Path) -> None:
    calls = []

    def counting() -> Embedder:
        calls.append(1)
        return embedder

    with demo_db() as session:
        first = ProductIndex.load_or_build(docs=load_docs(session), embedder=counting,
                                           model_name=embedder.name, directory=index_dir)
        product = session.scalars(select(Product).order_by(Product.id)).first()
        assert product is not None
        old_name = product.name
        product.name = "Renamed Teapot"
        session.flush()
        second = ProductIndex.load_or_build(docs=load_docs(session), embedder=counting,
                                            model_name=embedder.name, directory=index_dir)
        assert second.digest != first.digest and len(calls) == 2
        meta = json.loads((index_dir / META_FILE).read_text())
        meta["model"] = "another-model"
        (index_dir / META_FILE).write_text(json.dumps(meta))
        ProductIndex.load_or_build(docs=load_docs(session), embedder=counting,
                                   model_name=embedder.name, directory=index_dir)
        assert len(calls) == 3
        product.name = old_name
        session.rollback()
