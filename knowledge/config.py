"""Settings of the knowledge package, read from ``ATELIER_*`` environment variables."""

from __future__ import annotations

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

    @model_validator(mode="after")
    def _fill_defaults(self) -> Self:
        if self.index_dir is None:
            self.index_dir = self.data_dir / "index"
        return self

    @property
    def index_path(self) -> Path:
        assert self.index_dir is not None
        return self.index_dir


@lru_cache
def get_settings() -> KnowledgeSettings:
    return KnowledgeSettings()
