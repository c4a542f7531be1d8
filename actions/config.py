from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ActionSettings(BaseSettings):
    """Settings of the action server, read from ``ATELIER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    api_url: str = "http://127.0.0.1:8000/api"
    service_token: str = "change-me"
    api_timeout_seconds: float = 5.0
    search_page_size: int = 6


@lru_cache
def get_settings() -> ActionSettings:
    return ActionSettings()
