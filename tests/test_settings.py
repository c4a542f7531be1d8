import pytest
from pydantic import ValidationError

from channels.config import GatewaySettings
from commerce_core.config import CoreSettings, Environment
from knowledge.config import KnowledgeSettings


def test_defaults_need_no_external_service(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    core = CoreSettings()
    assert core.database_url == f"sqlite:///{tmp_path / 'atelier.db'}"
    assert core.is_sqlite and core.environment is Environment.DEVELOPMENT
    assert GatewaySettings().redis_url is None
    assert KnowledgeSettings().index_path == tmp_path / "index"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_DATABASE_URL", "postgresql://atelier@db:5432/atelier")
    monkeypatch.setenv("ATELIER_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("ATELIER_RASA_URL", "http://rasa:5005")
    assert not CoreSettings().is_sqlite
    gateway = GatewaySettings()
    assert (gateway.redis_url, gateway.rasa_url) == ("redis://cache:6379/0", "http://rasa:5005")


def test_production_refuses_placeholder_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="ATELIER_SERVICE_TOKEN"):
        CoreSettings()
    monkeypatch.setenv("ATELIER_SERVICE_TOKEN", "s" * 32)
    monkeypatch.setenv("ATELIER_SECRET_KEY", "k" * 32)
    with pytest.raises(ValidationError, match="ATELIER_PAYMENT_WEBHOOK_SECRET"):
        CoreSettings()
    monkeypatch.setenv("ATELIER_PAYMENT_WEBHOOK_SECRET", "w" * 32)
    assert CoreSettings().environment is Environment.PRODUCTION
