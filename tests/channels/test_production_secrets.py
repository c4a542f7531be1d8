"""In production the gateway and the action server refuse to start with a secret left at
a placeholder, and say which one and what to do."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from actions.config import ActionSettings
from channels.config import GatewaySettings
from tests.e2e.stack import REPO, free_port

GOOD = "3f9a1c0e7b5d2a4f6e8c0b1d3a5f7e9c"
PRODUCTION = {"ATELIER_ENVIRONMENT": "production", "ATELIER_IDENTITY_SECRET": GOOD,
              "ATELIER_RASA_API_TOKEN": "9c1e5a7f3b0d2e4a6c8f0a2b4d6e8f1a",
              "ATELIER_SERVICE_TOKEN": "s-" + GOOD, "ATELIER_SECRET_KEY": "k-" + GOOD,
              "ATELIER_PAYMENT_WEBHOOK_SECRET": "w-" + GOOD}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_real_secrets_start_in_production(production: pytest.MonkeyPatch) -> None:
    assert GatewaySettings().environment == "production"
    assert ActionSettings().environment == "production"


@pytest.mark.parametrize("value", ["change-me", "CHANGE_ME_BEFORE_DEPLOYING_PLEASE",
                                   "changeme-changeme-changeme", "x" * 40, "short-secret"])
def test_a_placeholder_identity_secret_is_refused(production: pytest.MonkeyPatch,
                                                  value: str) -> None:
    production.setenv("ATELIER_IDENTITY_SECRET", value)
    with pytest.raises(ValidationError, match="ATELIER_IDENTITY_SECRET is a placeholder"):
        GatewaySettings()
    with pytest.raises(ValidationError, match="ATELIER_IDENTITY_SECRET must be set"):
        ActionSettings()


def test_the_default_identity_secret_is_refused(production: pytest.MonkeyPatch) -> None:
    production.delenv("ATELIER_IDENTITY_SECRET")
    with pytest.raises(ValidationError, match="ATELIER_IDENTITY_SECRET is a placeholder"):
        GatewaySettings()


def test_other_secrets_are_checked_too(production: pytest.MonkeyPatch) -> None:
    production.delenv("ATELIER_RASA_API_TOKEN")
    with pytest.raises(ValidationError, match="ATELIER_RASA_API_TOKEN is unset"):
        GatewaySettings()
    production.setenv("ATELIER_RASA_API_TOKEN", "change-me")
    with pytest.raises(ValidationError, match="ATELIER_RASA_API_TOKEN is a placeholder"):
        GatewaySettings()
    production.setenv("ATELIER_RASA_API_TOKEN", "r-" + GOOD)
    production.setenv("ATELIER_WIDGET_SECRET", "change-me")
    with pytest.raises(ValidationError, match="ATELIER_WIDGET_SECRET is a placeholder"):
        GatewaySettings()
    production.delenv("ATELIER_WIDGET_SECRET")
    production.setenv("ATELIER_SERVICE_TOKEN", "change-me")
    with pytest.raises(ValidationError, match="ATELIER_SERVICE_TOKEN must be set"):
        ActionSettings()


def test_development_keeps_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATELIER_ENVIRONMENT", raising=False)
    monkeypatch.delenv("ATELIER_IDENTITY_SECRET", raising=False)
    assert GatewaySettings().identity_secret.get_secret_value() == "change-me"


def test_the_app_does_not_start_with_a_placeholder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # given a production environment whose identity secret was left at its placeholder
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "ATELIER_DATA_DIR": str(tmp_path), **PRODUCTION,
           "ATELIER_IDENTITY_SECRET": "change-me"}
    # when the server is started
    done = subprocess.run([sys.executable, "-m", "uvicorn", "channels.app:create_app",
                           "--factory", "--port", str(free_port())], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    # then it stops at once, naming the secret
    assert done.returncode != 0
    assert "ATELIER_IDENTITY_SECRET is a placeholder" in done.stderr
