"""The knowledge service held by the app: the embedder and the product index."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import faiss
from sqlalchemy.orm import Session, sessionmaker

from knowledge.config import KnowledgeSettings
from knowledge.embedding import Embedder, get_embedder
from knowledge.product_index import ProductIndex

log = logging.getLogger(__name__)


class KnowledgeService:
    def __init__(self, *, settings: KnowledgeSettings,
                 session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self._lock = threading.RLock()
        self._embedder: Embedder | None = None
        self._index: ProductIndex | None = None
        faiss.omp_set_num_threads(max(1, settings.search_threads))

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = get_embedder(self.settings.embedding_model)
        return self._embedder

    @property
    def index(self) -> ProductIndex:
        if self._index is None:
            self.refresh()
        assert self._index is not None
        return self._index

    def refresh(self, *, progress: bool = False) -> ProductIndex:
        """Load the product index from disk, or rebuild it if the catalog changed."""
        directory: Path = self.settings.index_path
        with self.session_factory() as session, self._lock:
            self._index = ProductIndex.load_or_build(
                session=session, embedder=lambda: self.embedder,
                model_name=self.settings.embedding_model, directory=directory, progress=progress,
            )
        return self._index
