from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from channels.handoff.staffing import StaffedHours

TELEGRAM_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
PLACEHOLDER_SECRET = "change-me"
MIN_SECRET_CHARS = 16


def placeholder(secret: str) -> bool:
    """A secret left at the default, a "change me" placeholder, one character repeated, or
    too short to be a secret."""
    folded = secret.lower().replace("_", "-")
    return (len(secret) < MIN_SECRET_CHARS or "change-me" in folded or "changeme" in folded
            or len(set(secret)) == 1)


class GatewaySettings(BaseSettings):
    """Settings of the gateway, read from ``ATELIER_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    """``production`` refuses to start with a secret left at a placeholder (see
    :meth:`_check_production_secrets`)."""
    rasa_url: str = "http://127.0.0.1:5005"
    """The Rasa server, or several separated by commas (processes or replicas sharing one
    tracker store): each conversation always goes to the same one (channels/rasa_client.py)."""
    action_endpoint_url: str = "http://127.0.0.1:5055/webhook"
    """Where Rasa calls the action server (``bot/endpoints.yml`` reads the same variable)."""
    action_server_url: str | None = None
    """Where the gateway checks the action server's ``/health``; unset: the server of
    ``action_endpoint_url``, so one variable moves both."""
    public_url: str = "http://localhost:8000"
    redis_url: str | None = None
    redis_prefix: str = "atelier"
    rasa_timeout_seconds: float = 30.0
    rasa_api_token: SecretStr | None = None
    """The ``--auth-token`` of Rasa's HTTP API (``/status``, tracker wipes); the shoppers'
    turns go to its channel, signed with ``identity_secret`` instead."""
    identity_secret: SecretStr = SecretStr(PLACEHOLDER_SECRET)
    """Shared with Rasa's channel and the action server: the gateway signs each turn's
    shopper with it (channels/assertion.py). Rasa refuses the placeholder."""
    max_message_chars: int = 2000
    max_body_bytes: int = 1024 * 1024
    history_limit: int = 200
    warm_search_on_start: bool = True
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` answers only ``Authorization: Bearer <token>``."""

    widget_origins: str = ""
    """Comma-separated origins of the shop sites that embed the widget
    (``https://shop.example,https://www.shop.example``); the gateway's own origin and
    ``public_url`` are always allowed, ``*`` allows any."""
    widget_secret: SecretStr | None = None
    """Shared with the shop to sign customer tokens (``data-customer-token``); unset: off."""
    rate_conversation_per_minute: float = 60.0
    rate_conversation_burst: int = 30
    """Messages a conversation may send at once, refilled at the rate per minute."""
    rate_ip_per_minute: float = 600.0
    rate_ip_burst: int = 120
    """The same for all conversations of one client address (an office behind one NAT)."""
    bot_retry_seconds: float = 5.0
    """How often messages that arrived while the bot was down are retried."""
    parcel_check_seconds: float = 300.0
    """How often shipped parcels are followed, so a delivery is told without asking."""
    outbox_poll_seconds: float = Field(1.0, gt=0)
    """How often the outbox is read for order news committed by another process (a change
    committed in this process wakes the relay at once)."""
    outbox_lease_seconds: float = Field(180.0, gt=0)
    """How long a replica holds a message it is delivering before another may take it
    over (a replica that died mid-delivery); longer than the slowest Telegram send."""
    outbox_max_attempts: int = Field(10, ge=1)
    """Attempts at a message before it is given up (and logged as an error)."""
    outbox_retry_backoff_seconds: float = Field(1.0, gt=0)
    """The wait before the first retry, doubled after each further failure."""
    outbox_max_backoff_seconds: float = Field(300.0, gt=0)
    outbox_batch_size: int = Field(50, ge=1)
    outbox_keep_days: float = Field(7.0, gt=0)
    """Delivered messages are deleted after this long."""

    handoff_timeout_seconds: float = 300.0
    """A shopper waiting this long for an agent is told when the shop is staffed."""
    handoff_check_seconds: float = 5.0
    staffed_hours: str = "Mon-Fri 09:00-18:00 Europe/Paris"
    """When agents answer: ``Mon-Fri 09:00-18:00 Europe/Paris``, ``Mon,Wed 10:00-16:00 UTC``."""
    agent_session_hours: float = 12.0
    agent_login_free_failures: int = Field(3, ge=0)
    """Wrong passwords one client may try for one account before each further try waits."""
    agent_login_client_free_failures: int = Field(10, ge=0)
    """The same for one client across all accounts."""
    agent_login_account_free_failures: int = Field(50, ge=0)
    """Wrong passwords for one account from all clients before every try of it waits a
    little: much higher, so that a stranger cannot keep the agent out."""
    agent_login_base_delay_seconds: float = Field(1.0, gt=0)
    """The first wait; it doubles with each further wrong password."""
    agent_login_max_delay_seconds: float = Field(900.0, gt=0)
    agent_login_account_max_delay_seconds: float = Field(30.0, gt=0)
    """The per-account wait stays this short: it slows a guessing crowd, never locks out."""
    agent_login_window_seconds: float = Field(900.0, gt=0)
    """A count is forgotten when no wrong password came for this long after its wait."""

    telegram_token: SecretStr | None = None
    """The bot token from @BotFather; Telegram is off while it is unset."""
    telegram_mode: Literal["polling", "webhook"] = "polling"
    """``polling``: the worker ``python -m channels.telegram`` fetches updates (development);
    ``webhook``: Telegram posts them to the gateway's ``/telegram/webhook`` (production)."""
    telegram_webhook_secret: SecretStr | None = None
    """Telegram sends it back in ``X-Telegram-Bot-Api-Secret-Token``; required for webhooks."""
    telegram_webhook_url: str | None = None
    """Where Telegram posts updates; default ``<public_url>/telegram/webhook`` (HTTPS)."""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    telegram_send_retries: int = 3
    """Retries of a send after a network error or a 429 answer, before it is given up."""
    telegram_retry_backoff_seconds: float = 1.0
    telegram_max_retry_after_seconds: float = 60.0
    """A 429 asking for a longer wait than this is given up at once."""
    telegram_button_cache_size: int = 10_000
    telegram_heartbeat_file: str | None = None
    """The polling worker touches this file while it polls (a container health check)."""

    @field_validator("telegram_token", "telegram_webhook_secret", "telegram_webhook_url",
                     "telegram_heartbeat_file", "widget_secret", "action_server_url",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # compose passes unset variables as ""

    @field_validator("staffed_hours")
    @classmethod
    def _check_staffed_hours(cls, value: str) -> str:
        StaffedHours.parse(value)  # a clear ValueError at start-up, not at the first shopper
        return value

    @field_validator("rasa_url")
    @classmethod
    def _check_rasa_urls(cls, value: str) -> str:
        urls = [url.strip() for url in value.split(",")]
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("ATELIER_RASA_URL must be http(s) URLs separated by commas, "
                                 f"such as http://127.0.0.1:5005, not {url!r}")
        return ",".join(urls)

    @model_validator(mode="after")
    def _derive_action_server_url(self) -> Self:
        endpoint = urlsplit(self.action_endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.netloc:
            raise ValueError("ATELIER_ACTION_ENDPOINT_URL must be an http(s) URL such as "
                             f"http://127.0.0.1:5055/webhook, not {self.action_endpoint_url!r}")
        if self.action_server_url is None:
            self.action_server_url = f"{endpoint.scheme}://{endpoint.netloc}"
        self.action_server_url = self.action_server_url.rstrip("/")
        return self

    @model_validator(mode="after")
    def _check_telegram(self) -> Self:
        secret = self.telegram_webhook_secret
        if secret is not None and not TELEGRAM_SECRET_RE.match(secret.get_secret_value()):
            raise ValueError("ATELIER_TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of "
                             "A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        if self.telegram_mode == "webhook" and self.telegram_token and secret is None:
            raise ValueError("ATELIER_TELEGRAM_WEBHOOK_SECRET is required in webhook mode")
        return self

    @model_validator(mode="after")
    def _check_production_secrets(self) -> Self:
        """In production every secret the gateway signs or authenticates with must be set
        to a real one: a placeholder would let anyone sign shoppers' turns or customer
        tokens, or call Rasa's HTTP API. Optional ones are checked when set."""
        if self.environment != "production":
            return self
        secrets = {"IDENTITY_SECRET": self.identity_secret, "RASA_API_TOKEN": self.rasa_api_token,
                   "WIDGET_SECRET": self.widget_secret,
                   "TELEGRAM_WEBHOOK_SECRET": self.telegram_webhook_secret}
        required = {"IDENTITY_SECRET", "RASA_API_TOKEN"}
        for name, secret in secrets.items():
            if secret is None and name not in required:
                continue
            if secret is None or placeholder(secret.get_secret_value()):
                raise ValueError(
                    f"ATELIER_{name} is {'unset' if secret is None else 'a placeholder'}: "
                    f"in production (ATELIER_ENVIRONMENT=production) it must be a secret of "
                    f"at least {MIN_SECRET_CHARS} random characters, for example from "
                    "`openssl rand -hex 32`")
        return self


def origin_list(settings: GatewaySettings) -> list[str]:
    return [o.strip().rstrip("/") for o in settings.widget_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> GatewaySettings:
    return GatewaySettings()
