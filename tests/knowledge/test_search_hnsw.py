"""The approximate (HNSW) index, with the threshold lowered so a small synthetic catalog
uses it: recall against exact search, filters inside the search, tombstones."""

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from knowledge import product_index
from knowledge.product_index import (
    HNSW_EF_SEARCH,
    ProductDoc,
    ProductIndex,
    VariantDoc,
    VectorStore,
)
from knowledge.search import SearchFilters, search

PRODUCTS, QUERIES, DIMENSION = 3000, 200, 384


class ClusteredEmbedder:
    """Vectors drawn around 200 centres, like product families; "item-N" is product N and
    "query-N" the N-th query, so exact neighbours can be computed independently."""

    name = "clustered-test"
    dimension = DIMENSION

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        centres = rng.normal(size=(200, DIMENSION))

        def draw(n: int) -> np.ndarray:
            x = centres[rng.integers(0, len(centres), n)] + 2.25 * rng.normal(size=(n, DIMENSION))
            return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

        self.items, self.queries = draw(PRODUCTS), draw(QUERIES)

    def _vector(self, text: str) -> np.ndarray:
        kind, number = text.split(".")[0].split("-")
        return (self.items if kind == "item" else self.queries)[int(number) - 1]

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])

    def encode_one(self, text: str) -> np.ndarray:
        return self._vector(text)


def _doc(product_id: int) -> ProductDoc:
    # the name is the embedder's key; the price runs 1.00 … 100.00 over the catalog
    return ProductDoc(id=product_id, name=f"item-{product_id}", description="", category="c",
                      currency="EUR", image_url="",
                      variants=(VariantDoc(sku=f"S{product_id}",
                                           price=Decimal(product_id % 100 + 1), stock=1,
                                           attributes={}),))


@pytest.fixture(scope="module")
def fake() -> ClusteredEmbedder:
    return ClusteredEmbedder()


@pytest.fixture(scope="module")
def hnsw(fake: ClusteredEmbedder, tmp_path_factory: pytest.TempPathFactory) -> ProductIndex:
    docs = [_doc(i) for i in range(1, PRODUCTS + 1)]
    index = ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                                       directory=tmp_path_factory.mktemp("hnsw"),
                                       approximate_above=1000)
    assert index.kind == "hnsw"
    return index


def _exact(fake: ClusteredEmbedder, query: np.ndarray, ids: np.ndarray, k: int) -> set[int]:
    scores = fake.items[ids - 1] @ query
    return {int(ids[i]) for i in np.argsort(-scores)[:k]}


def test_recall_at_10_against_exact_search_is_at_least_095(
        hnsw: ProductIndex, fake: ClusteredEmbedder) -> None:
    everything = np.arange(1, PRODUCTS + 1)
    found = sum(len({i for i, _ in hnsw.vectors.search(q, 10)} & _exact(fake, q, everything, 10))
                for q in fake.queries)
    assert hnsw.faiss.hnsw.efSearch == HNSW_EF_SEARCH
    assert found / (10 * QUERIES) >= 0.95


@pytest.mark.parametrize(("low", "high", "walk"), [("1", "60", True), ("10", "12", False)],
                         ids=["graph walk with a selector", "exact scan of the kept few"])
def test_no_result_is_ever_outside_the_price_filter(
        hnsw: ProductIndex, fake: ClusteredEmbedder, monkeypatch: pytest.MonkeyPatch,
        low: str, high: str, walk: bool) -> None:
    # given a filter keeping 60 % of the products (walked) or 3 % (scanned exactly)
    monkeypatch.setattr(product_index, "EXACT_SCAN_MAX", 100)
    scans: list[int] = []
    exact = VectorStore._exact

    def spy(store: VectorStore, vector: np.ndarray, allowed: np.ndarray,
            k: int) -> list[tuple[int, float]]:
        scans.append(len(allowed))
        return exact(store, vector, allowed, k)

    monkeypatch.setattr(VectorStore, "_exact", spy)
    filters = SearchFilters(min_price=Decimal(low), max_price=Decimal(high))
    kept = np.array([d.id for d in hnsw.docs.values()
                     if Decimal(low) <= d.variants[0].price <= Decimal(high)])
    found = 0
    for number in range(1, 41):
        # when searching by meaning only
        hits = search(index=hnsw, embedder=fake, query=f"query-{number}", limit=20,
                      filters=filters, mode="dense")
        # then every result passes, none is missing, and they are the nearest ones
        assert len(hits) == 20
        assert all(Decimal(low) <= h.variant.price <= Decimal(high) for h in hits)
        found += len({h.doc.id for h in hits} & _exact(fake, fake.queries[number - 1], kept, 20))
    assert scans == ([] if walk else [len(kept)] * 40)
    assert found / (20 * 40) >= (0.95 if walk else 1.0)


def test_removed_and_replaced_products_never_come_back(
        fake: ClusteredEmbedder, tmp_path: Path) -> None:
    docs = [_doc(i) for i in range(1, 1201)]
    ProductIndex.load_or_build(docs=docs, embedder=lambda: fake, model_name=fake.name,
                               directory=tmp_path, approximate_above=1000)
    # product 2 now carries product 1201's text, product 3 is gone
    moved = ProductDoc(**{**_doc(2).__dict__, "name": "item-1201"})
    current = [moved if d.id == 2 else d for d in docs if d.id != 3]
    index = ProductIndex.load_or_build(docs=current, embedder=lambda: fake,
                                       model_name=fake.name, directory=tmp_path,
                                       approximate_above=1000)
    assert index.kind == "hnsw" and index.vectors.tombstones == 2
    for number in (1, 2, 3):
        hits = index.vectors.search(fake.items[number - 1], 50)
        assert 3 not in {i for i, _ in hits}
        assert (hits[0][0] == number) is (number == 1)
    assert index.vectors.search(fake.items[1200], 1)[0][0] == 2
