"""Fixtures of the gateway tests: a Rasa stand-in over HTTP and apps built around it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.payment.routes import get_provider
from commerce_core.payment.sandbox import SandboxProvider
from knowledge.config import KnowledgeSettings
from tests.channels.fake_rasa import FakeRasa

Gateway = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa().start()
    yield rasa
    rasa.stop()


@pytest.fixture
def gateway(demo_catalog: sessionmaker[Session], tmp_path: Path,
            fake_rasa: FakeRasa) -> Gateway:
    """``with gateway(**settings) as client``: an app on the test database and the Rasa
    stand-in, whose sandbox payments call its own webhook in process."""

    @contextmanager
    def start(**settings: Any) -> Iterator[TestClient]:
        app = create_app(GatewaySettings(**{"rasa_url": fake_rasa.url,
                                            "warm_search_on_start": False, **settings}),
                         session_factory=demo_catalog,
                         knowledge_settings=KnowledgeSettings(data_dir=tmp_path))
        provider = SandboxProvider(transport=httpx.ASGITransport(app=app),
                                   backoff_seconds=0.01)
        app.dependency_overrides[get_provider] = lambda: provider
        with TestClient(app) as client:
            yield client

    return start
