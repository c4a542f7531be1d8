"""The gateway finds the action server where Rasa does: one address, set once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from channels.config import GatewaySettings


def test_the_action_server_health_url_follows_rasas_action_endpoint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # given only the endpoint Rasa calls (as `make run` with ATELIER_ACTIONS_PORT sets it)
    monkeypatch.delenv("ATELIER_ACTION_SERVER_URL", raising=False)
    monkeypatch.setenv("ATELIER_ACTION_ENDPOINT_URL", "http://127.0.0.1:5155/webhook")
    # then the gateway checks the same server
    assert GatewaySettings().action_server_url == "http://127.0.0.1:5155"


def test_an_explicit_action_server_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_ACTION_ENDPOINT_URL", "http://actions:5055/webhook")
    monkeypatch.setenv("ATELIER_ACTION_SERVER_URL", "http://actions-health:9000/")
    assert GatewaySettings().action_server_url == "http://actions-health:9000"


def test_the_default_is_the_default_action_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATELIER_ACTION_SERVER_URL", raising=False)
    monkeypatch.delenv("ATELIER_ACTION_ENDPOINT_URL", raising=False)
    settings = GatewaySettings()
    assert settings.action_server_url == "http://127.0.0.1:5055"
    assert settings.action_endpoint_url == "http://127.0.0.1:5055/webhook"


@pytest.mark.parametrize("url", ["127.0.0.1:5155/webhook", "ftp://host/webhook", "http://"])
def test_an_action_endpoint_that_is_no_http_url_is_refused_at_start(
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.delenv("ATELIER_ACTION_SERVER_URL", raising=False)
    monkeypatch.setenv("ATELIER_ACTION_ENDPOINT_URL", url)
    with pytest.raises(ValidationError, match="ATELIER_ACTION_ENDPOINT_URL"):
        GatewaySettings()



def test_several_rasa_servers_are_listed_with_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATELIER_RASA_URL", "http://127.0.0.1:5005, http://127.0.0.1:5006")
    assert GatewaySettings().rasa_url == "http://127.0.0.1:5005,http://127.0.0.1:5006"


@pytest.mark.parametrize("urls", ["127.0.0.1:5005", "http://rasa:5005,", "http://a:1,rasa:2"])
def test_a_rasa_url_that_is_no_http_url_is_refused_at_start(
        monkeypatch: pytest.MonkeyPatch, urls: str) -> None:
    monkeypatch.setenv("ATELIER_RASA_URL", urls)
    with pytest.raises(ValidationError, match="ATELIER_RASA_URL"):
        GatewaySettings()
