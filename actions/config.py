from __future__ import annotations

from functools import lru_cache
from typing import Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"


class ActionSettings(BaseSettings):
    """Settings of the action server, read from ``ATELIER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    api_url: str = "http://127.0.0.1:8000/api"
    service_token: str = PLACEHOLDER_SECRET
    identity_secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """Shared with the gateway, which signs each turn's shopper with it, and Rasa's
    channel: an action acts only for a shopper signed with it (actions/shopper.py)."""
    api_timeout_seconds: float = 5.0
    search_page_size: int = 6

    @model_validator(mode="after")
    def _check_identity_secret(self) -> Self:
        secret = self.identity_secret.get_secret_value()
        if self.environment == "production" and (secret == PLACEHOLDER_SECRET
                                                 or len(secret) < 16):
            raise ValueError("ATELIER_IDENTITY_SECRET must be set to a secret of at least 16 "
                             "characters in production")
        return self


@lru_cache
def get_settings() -> ActionSettings:
    return ActionSettings()
