"""Settings of the commerce core, read from ``ATELIER_*`` environment variables."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def default_data_dir() -> Path:
    return REPO_ROOT / "var"


class CoreSettings(BaseSettings):
    """Database, money and secrets of the commerce API."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = default_data_dir()
    database_url: str = ""
    default_currency: str = "EUR"
    service_token: str = PLACEHOLDER_SECRET
    secret_key: str = PLACEHOLDER_SECRET
    payment_webhook_secret: str = PLACEHOLDER_SECRET
    public_url: str = "http://localhost:8000"
    tax_rate: Decimal = Decimal("0.20")
    """VAT included in prices."""
    max_order_total: Decimal = Field(default=Decimal("100000.00"), gt=0, le=Decimal("1e9"),
                                     allow_inf_nan=False)
    """The most one order may cost, in the shop currency; no quoted price, cart line, order
    total or payment may exceed it (nor be zero or less), whatever the rules say."""
    reservation_minutes: int = 30
    """How long checkout holds stock for an unpaid order."""
    max_import_bytes: int = 20 * 1024 * 1024
    """The largest catalog CSV the import takes (other request bodies: the gateway's
    ``max_body_bytes``)."""
    import_sync_max_bytes: int = 1024 * 1024
    """A catalog CSV up to this size is imported within its request; a larger one runs
    as a background job (``202`` and a job to follow)."""
    import_batch_rows: int = 500
    """Rows a background import applies and commits at a time (with its progress)."""
    import_job_heartbeat_seconds: float = 5.0
    import_job_stale_seconds: float = 120.0
    """A queued or running job not heard of for this long was left by a server that went
    away: it is marked failed."""
    carrier_time_scale: float = 1.0
    """Speed of the simulated carrier: 1.0 = real days; 0.001 delivers in minutes (demos)."""

    @model_validator(mode="after")
    def _fill_defaults_and_check_secrets(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'atelier.db'}"
        if self.environment is Environment.PRODUCTION:
            for name in ("service_token", "secret_key", "payment_webhook_secret"):
                value = getattr(self, name)
                if value == PLACEHOLDER_SECRET or len(value) < 16:
                    raise ValueError(
                        f"ATELIER_{name.upper()} must be set to a secret of at least 16 "
                        "characters in production"
                    )
        self.default_currency = self.default_currency.upper()
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> CoreSettings:
    return CoreSettings()
