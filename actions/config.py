from __future__ import annotations

from functools import lru_cache
from typing import Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me"


def _placeholder(secret: str) -> bool:
    """As the gateway judges a secret (channels/config.py; the action server imports none
    of the other packages)."""
    folded = secret.lower().replace("_", "-")
    return (len(secret) < 16 or "change-me" in folded or "changeme" in folded
            or len(set(secret)) == 1)


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
    actions_metrics_port: int = 0
    """Where the action server serves its own Prometheus metrics (actions/metrics.py);
    0 serves none."""

    @model_validator(mode="after")
    def _check_identity_secret(self) -> Self:
        secret = self.identity_secret.get_secret_value()
        if self.environment != "production":
            return self
        for name, value in (("IDENTITY_SECRET", secret), ("SERVICE_TOKEN", self.service_token)):
            if _placeholder(value):
                raise ValueError(f"ATELIER_{name} must be set to a secret of at least 16 "
                                 "characters in production")
        return self


@lru_cache
def get_settings() -> ActionSettings:
    return ActionSettings()
