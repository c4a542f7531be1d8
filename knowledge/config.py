"""Settings of the knowledge package, read from ``ATELIER_*`` environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from commerce_core.config import REPO_ROOT, default_data_dir


class KnowledgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    data_dir: Path = default_data_dir()
    index_dir: Path | None = None
    embedding_model: str = "all-MiniLM-L6-v2"
    faq_dir: Path = REPO_ROOT / "knowledge" / "faq"
    search_threads: int = 1
    encoder_cache_dir: Path | None = None
    """Where the sentence encoder's ONNX graph, built from the model's weights, is kept;
    default ``~/.cache/atelier/encoders`` (outside the data directory, so test runs and
    fresh checkouts share one build)."""

    @model_validator(mode="after")
    def _fill_defaults(self) -> Self:
        if self.index_dir is None:
            self.index_dir = self.data_dir / "index"
        return self

    @property
    def encoder_cache_path(self) -> Path:
        if self.encoder_cache_dir is not None:
            return self.encoder_cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "atelier" / "encoders"

    @property
    def index_path(self) -> Path:
        assert self.index_dir is not None
        return self.index_dir


@lru_cache
def get_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
