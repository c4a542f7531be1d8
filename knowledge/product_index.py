"""The product index: FAISS vectors + BM25 over a snapshot of the catalog.

On disk (``<index_dir>/products.faiss`` + ``products.meta.json``) the index records the
embedding model, the dimension and a hash of its inputs; a mismatch rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import faiss
import numpy as np
from sqlalchemy.orm import Session
from tqdm import tqdm

from commerce_core.catalog.repository import CatalogRepository
from knowledge.embedding import Embedder
from knowledge.lexical import BM25

log = logging.getLogger(__name__)

INDEX_FILE = "products.faiss"
META_FILE = "products.meta.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class VariantDoc:
    sku: str
    price: Decimal
    stock: int
    attributes: dict[str, str]
    """Product attributes merged with the variant's own."""


@dataclass(frozen=True)
class ProductDoc:
    id: int
    name: str
    description: str
    category: str
    currency: str
    image_url: str
    variants: tuple[VariantDoc, ...]

    @property
    def text(self) -> str:
        """What the embedding and BM25 see: the words a shopper might use."""
        values: dict[str, None] = {}
        for variant in self.variants:
            for key, value in variant.attributes.items():
                if key != "size":
                    values[value] = None
        return f"{self.name}. {self.category}. {', '.join(values)}. {self.description}"

    @property
    def min_price(self) -> Decimal:
        return min(v.price for v in self.variants)


def load_docs(session: Session) -> list[ProductDoc]:
    docs = []
    for product in CatalogRepository(session).all_products():
        if not product.variants:
            continue
        docs.append(ProductDoc(
            id=product.id, name=product.name, description=product.description,
            category=product.category, currency=product.currency, image_url=product.image_url,
            variants=tuple(
                VariantDoc(sku=v.sku, price=v.price, stock=v.stock,
                           attributes={**product.attributes, **v.attributes})
                for v in product.variants
            ),
        ))
    return docs


def inputs_hash(model_name: str, docs: Sequence[ProductDoc]) -> str:
    digest = hashlib.sha256(f"v{FORMAT_VERSION}|{model_name}".encode())
    for doc in sorted(docs, key=lambda d: d.id):
        digest.update(f"\n{doc.id}\t{doc.text}".encode())
    return digest.hexdigest()


class ProductIndex:
    def __init__(self, *, docs: Sequence[ProductDoc], vectors_index: faiss.Index,
                 model_name: str, digest: str) -> None:
        self.docs = {d.id: d for d in docs}
        self.faiss = vectors_index
        self.model_name = model_name
        self.digest = digest
        self.lexical = BM25()
        for doc in docs:
            self.lexical.add(doc.id, doc.text)

    @classmethod
    def build(cls, *, docs: Sequence[ProductDoc], embedder: Embedder,
              progress: bool = False, batch_size: int = 64) -> ProductIndex:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dimension))
        bar = tqdm(total=len(docs), desc="Embedding products", unit="product",
                   disable=not progress)
        for start in range(0, len(docs), batch_size):
            batch = docs[start:start + batch_size]
            vectors = embedder.encode([d.text for d in batch], batch_size=batch_size)
            index.add_with_ids(vectors, np.array([d.id for d in batch], dtype=np.int64))
            bar.update(len(batch))
        bar.close()
        return cls(docs=docs, vectors_index=index, model_name=embedder.name,
                   digest=inputs_hash(embedder.name, docs))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / (INDEX_FILE + ".tmp")
        faiss.write_index(self.faiss, str(tmp))
        tmp.replace(directory / INDEX_FILE)
        meta = {"format": FORMAT_VERSION, "model": self.model_name, "dimension": self.faiss.d,
                "inputs_hash": self.digest, "count": int(self.faiss.ntotal)}
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load_or_build(cls, *, docs: Sequence[ProductDoc], embedder: Callable[[], Embedder],
                      model_name: str, directory: Path,
                      progress: bool = False) -> ProductIndex:
        """Load the index on disk if it was built from these products with this model.

        ``embedder`` is called only when vectors must be computed, so an up-to-date index
        loads without loading the model.
        """
        digest = inputs_hash(model_name, docs)
        meta_path = directory / META_FILE
        if meta_path.exists() and (directory / INDEX_FILE).exists():
            meta = json.loads(meta_path.read_text())
            if (meta.get("format"), meta.get("model"), meta.get("inputs_hash")) == (
                FORMAT_VERSION, model_name, digest
            ):
                vectors = faiss.read_index(str(directory / INDEX_FILE))
                if vectors.d == meta.get("dimension") and vectors.ntotal == len(docs):
                    log.info("product index is up to date (%d products)", len(docs))
                    return cls(docs=docs, vectors_index=vectors, model_name=model_name,
                               digest=digest)
            log.info("product index is stale (model or catalog changed): rebuilding")
        else:
            log.info("no product index on disk: building it")
        index = cls.build(docs=docs, embedder=embedder(), progress=progress)
        index.save(directory)
        return index
