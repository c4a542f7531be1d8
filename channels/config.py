from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Settings of the gateway, read from ``ATELIER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    rasa_url: str = "http://127.0.0.1:5005"
    action_server_url: str = "http://127.0.0.1:5055"
    public_url: str = "http://localhost:8000"
    redis_url: str | None = None
    redis_prefix: str = "atelier"
    rasa_timeout_seconds: float = 30.0
    max_message_chars: int = 2000
    max_body_bytes: int = 1024 * 1024
    history_limit: int = 200
    warm_search_on_start: bool = True


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
