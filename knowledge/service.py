"""The knowledge service held by the app: the embedder, the product index, and the
reading of shoppers' words against it (with the merchant's synonyms)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import faiss
from sqlalchemy.orm import Session, sessionmaker

from commerce_core.events import DomainEvent, subscribe
from knowledge.config import KnowledgeSettings
from knowledge.embedding import Embedder, get_embedder
from knowledge.product_index import ProductIndex, load_docs
from knowledge.synonyms import terms
from knowledge.understanding import QueryInterpreter, Synonym

log = logging.getLogger(__name__)


class KnowledgeService:
    def __init__(self, *, settings: KnowledgeSettings,
                 session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self._lock = threading.RLock()
        self._embedder: Embedder | None = None
        self._index: ProductIndex | None = None
        self._understanding: QueryInterpreter | None = None
        self._synonyms: tuple[Synonym, ...] = ()
        self._stale = threading.Event()
        self._refresher: threading.Thread | None = None
        self._refresh_guard = threading.Lock()
        faiss.omp_set_num_threads(max(1, settings.search_threads))
        self._unsubscribe = subscribe("catalog.changed", self._on_catalog_changed)

    def close(self) -> None:
        """Stop following the catalog and wait for a refresh in progress to finish."""
        self._unsubscribe()
        self._unsubscribe = lambda: None  # a second close is a no-op
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout=120)

    def _on_catalog_changed(self, _event: DomainEvent) -> None:
        """A merchant changed the catalog: refresh the index off the request thread."""
        with self._refresh_guard:
            self._stale.set()
            if self._refresher is None:
                self._refresher = threading.Thread(target=self._refresh_while_stale,
                                                   name="index-refresh")
                self._refresher.start()

    def _refresh_while_stale(self) -> None:
        """Refresh until no change arrived during the last refresh (changes coalesce)."""
        while True:
            with self._refresh_guard:
                if not self._stale.is_set():
                    self._refresher = None
                    return
                self._stale.clear()
            self.refresh()

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

    def _understanding_of(self, index: ProductIndex) -> QueryInterpreter | None:
        """The reader kept, if it was built for ``index`` and the current synonyms."""
        current = self._understanding
        if current is None or current.index is not index or \
                current.synonyms is not self._synonyms:
            return None
        return current

    def loaded_understanding(self) -> QueryInterpreter | None:
        """:attr:`understanding` when it is at hand, nothing to load or build for it (a
        lookup, fine on the event loop); else None."""
        index = self._index
        return None if index is None else self._understanding_of(index)

    @property
    def understanding(self) -> QueryInterpreter:
        """The shopper's words read against the current index: rebuilt with it, so a
        product is understood (its name, type, material, …) as soon as it is searchable,
        and with the synonyms, so one is read as soon as it is saved."""
        index = self.index
        current = self._understanding_of(index)
        if current is None:
            current = self._understanding = QueryInterpreter(index, synonyms=self._synonyms)
        return current

    def reload_synonyms(self) -> None:
        """Read the merchant's synonyms again (after one was saved or removed)."""
        with self.session_factory() as session:
            synonyms = terms(session)
        with self._lock:
            self._synonyms = synonyms
            self._understanding = QueryInterpreter(self.index, synonyms=synonyms)

    def refresh(self, *, progress: bool = False) -> ProductIndex:
        """Load the product index from disk, or rebuild it if the catalog changed."""
        directory: Path = self.settings.index_path
        with self.session_factory() as session:  # a short read; embedding happens after
            docs = load_docs(session)
            synonyms = terms(session)
        with self._lock:
            index = ProductIndex.load_or_build(
                docs=docs, embedder=lambda: self.embedder,
                model_name=self.settings.embedding_model, directory=directory, progress=progress,
            )
            # the reading is ready before the index is served
            understanding = QueryInterpreter(index, synonyms=synonyms)
            self._index, self._understanding = index, understanding
            self._synonyms = synonyms
        return index
