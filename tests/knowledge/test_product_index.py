import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.models import Product
from knowledge.embedding import Embedder
from knowledge.lexical import tokenize
from knowledge.product_index import (
    INDEX_FILE,
    META_FILE,
    ProductDoc,
    ProductIndex,
    VariantDoc,
    load_docs,
)


class HashingEmbedder:
    """A model-free stand-in: a bag of hashed words, so texts sharing words lie close.

    ``encoded`` lists every text embedded for the index (queries are not counted).
    """

    name = "hashing-test"
    dimension = 256

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                bucket = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(),
                                        "little") % self.dimension
                out[row, bucket] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        self.encoded.extend(texts)
        return self._vectors(texts)

    def encode_one(self, text: str) -> np.ndarray:
        return self._vectors([text])[0]


WORDS = ("mug", "vase", "bowl", "plate", "ring", "necklace", "scarf", "wallet", "belt", "candle",
         "print", "notebook", "tumbler", "board", "spoon", "shelf", "clock", "lamp", "apron",
         "cushion")
COLOURS = ("blue", "green", "red", "black", "white", "yellow", "pink", "grey")


def make_doc(product_id: int, *, name: str | None = None, price: str = "20.00") -> ProductDoc:
    word, colour = WORDS[product_id % len(WORDS)], COLOURS[product_id % len(COLOURS)]
    return ProductDoc(
        id=product_id, name=name or f"{colour.title()} {word} number {product_id}",
        description=f"A handmade {colour} {word}.", category=word, currency="EUR",
        image_url="", variants=(VariantDoc(sku=f"SKU-{product_id}", price=Decimal(price),
                                           stock=3, attributes={"colour": colour}),))


def _never() -> Embedder:
    raise AssertionError("the index should have been loaded, not rebuilt")


def test_index_is_persisted_with_model_and_hash_and_reloaded_without_the_model(
        demo_db: sessionmaker[Session], demo_index: ProductIndex, index_dir: Path) -> None:
    demo_index.save(index_dir)
    meta = json.loads((index_dir / META_FILE).read_text())
    assert meta["model"] == "all-MiniLM-L6-v2" and meta["dimension"] == 384
    assert meta["kind"] == "flat" and len(meta["products"]) == len(demo_index.docs)
    assert meta["count"] == len(demo_index.docs) >= 300
    assert meta["inputs_hash"] == demo_index.digest
    with demo_db() as session:
        loaded = ProductIndex.load_or_build(docs=load_docs(session), embedder=_never,
                                            model_name="all-MiniLM-L6-v2", directory=index_dir)
    assert loaded.digest == demo_index.digest
    assert loaded.faiss.ntotal == demo_index.faiss.ntotal


def test_catalog_change_re_embeds_that_product_and_another_model_rebuilds(
        demo_db: sessionmaker[Session], demo_index: ProductIndex, embedder: Embedder,
        index_dir: Path) -> None:
    demo_index.save(index_dir)
    seen: list[str] = []

    class Counting(Embedder):
        def __init__(self) -> None:  # wraps the loaded model, loads nothing
            self.name, self.dimension = embedder.name, embedder.dimension

        def encode(self, texts: Sequence[str], *, batch_size: int = 64,
                   progress: bool = False) -> np.ndarray:
            seen.extend(texts)
            return embedder.encode(texts, batch_size=batch_size)

    with demo_db() as session:
        product = session.scalars(select(Product).order_by(Product.id)).first()
        assert product is not None
        product_id, old_name = product.id, product.name
        product.name = "Renamed Teapot"
        session.flush()
        docs = load_docs(session)
        changed = ProductIndex.load_or_build(docs=docs, embedder=Counting,
                                             model_name=embedder.name, directory=index_dir)
        product.name = old_name
        session.rollback()
    assert changed.digest != demo_index.digest
    assert seen == [changed.docs[product_id].text] and "Renamed Teapot" in seen[0]
    renamed = changed.vectors.search(embedder.encode_one("renamed teapot"), 1)
    assert renamed[0][0] == product_id
    # the same catalog under another model's name: nothing on disk can be reused
    fake = HashingEmbedder()
    other = ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                                       directory=index_dir)
    assert len(fake.encoded) == len(docs) and other.faiss.d == fake.dimension
    assert json.loads((index_dir / META_FILE).read_text())["model"] == fake.name


@pytest.mark.parametrize("approximate_above", [1000, 10], ids=["flat", "hnsw"])
def test_added_changed_and_deleted_products_are_the_only_ones_embedded(
        index_dir: Path, approximate_above: int) -> None:
    # given an index of 30 products
    fake = HashingEmbedder()
    docs = [make_doc(i) for i in range(1, 31)]
    first = ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                                       directory=index_dir, approximate_above=approximate_above)
    assert first.kind == ("hnsw" if approximate_above == 10 else "flat")
    assert len(fake.encoded) == 30
    # when one product is added, one renamed and one deleted
    fake.encoded.clear()
    added, renamed = make_doc(31), make_doc(5, name="Zigzag walnut clock")
    docs = [renamed if d.id == 5 else d for d in docs if d.id != 7] + [added]
    second = ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                                        directory=index_dir, approximate_above=approximate_above)
    # then only those two were embedded and the index holds exactly the current products
    assert sorted(fake.encoded) == sorted([added.text, renamed.text])
    assert second.kind == first.kind
    assert second.vectors.ids() == {d.id for d in docs} and len(second.vectors) == 30
    hits = second.vectors.search(fake.encode_one("zigzag walnut clock"), 3)
    assert hits[0][0] == 5
    assert 7 not in {i for i, _ in second.vectors.search(fake.encode_one("x"), 30)}
    assert set(second.lexical.score("zigzag")[0]) == {5}
    assert not second.lexical.score("number 7")[1].get(7)
    # and the next start loads it as it is
    third = ProductIndex.load_or_build(docs=docs, embedder=_never, model_name=fake.name,
                                       directory=index_dir, approximate_above=approximate_above)
    assert third.digest == second.digest and third.vectors.ids() == second.vectors.ids()


def test_hnsw_keeps_tombstones_until_too_many_then_rebuilds(index_dir: Path) -> None:
    fake = HashingEmbedder()
    docs = [make_doc(i) for i in range(1, 41)]

    def load(current: list[ProductDoc]) -> ProductIndex:
        return ProductIndex.load_or_build(docs=current, embedder=lambda: fake,
                                          model_name=fake.name, directory=index_dir,
                                          approximate_above=10)

    load(docs)
    fake.encoded.clear()
    index = load(docs[2:])  # 2 of 40 deleted: 5 % tombstones, kept
    assert fake.encoded == [] and index.vectors.tombstones == 2 and index.faiss.ntotal == 40
    assert {i for i, _ in index.vectors.search(fake.encode_one("blue mug"), 38)} == set(
        range(3, 41))
    index = load(docs[10:])  # 10 of 40: 25 % > 20 %, rebuilt whole
    assert len(fake.encoded) == 30 and index.vectors.tombstones == 0
    assert index.faiss.ntotal == 30


def test_a_torn_write_or_a_grown_catalog_rebuilds(index_dir: Path) -> None:
    fake = HashingEmbedder()
    docs = [make_doc(i) for i in range(1, 13)]
    ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                               directory=index_dir, approximate_above=20)
    data = bytearray((index_dir / INDEX_FILE).read_bytes())
    data[-1] ^= 0xFF
    (index_dir / INDEX_FILE).write_bytes(bytes(data))
    fake.encoded.clear()
    rebuilt = ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                                         directory=index_dir, approximate_above=20)
    assert len(fake.encoded) == 12 and rebuilt.kind == "flat"
    fake.encoded.clear()
    grown = ProductIndex.load_or_build(docs=docs + [make_doc(i) for i in range(13, 25)],
                                       embedder=lambda: fake, model_name=fake.name,
                                       directory=index_dir, approximate_above=20)
    assert grown.kind == "hnsw" and len(fake.encoded) == 24
    assert json.loads((index_dir / META_FILE).read_text())["kind"] == "hnsw"
