"""Schemathesis over the whole schema of the app of the default run (commerce API, search,
FAQ, chat, history, agent console, Telegram webhook, health), on SQLite and PostgreSQL: no
input the schema describes makes it fail with a 5xx, and every status it answers is
documented for that operation."""

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from channels.agent.auth import create_agent, open_session
from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.customization.loader import load_rule_files
from commerce_core.models import Agent
from knowledge.config import KnowledgeSettings
from tests.channels.fake_bot_api import FakeBotApi
from tests.commerce_core.helpers import merchant_headers
from tests.conftest import DEMO_CATALOG, DEMO_RULES, _clean

HEADERS: dict[str, Callable[[], dict[str, str]]] = {}
"""``merchant``: a merchant API key (commerce, search and FAQ routes); ``agent``: a new
agent console session, as a bearer token (what API clients of the console send), for each
case, since a case may sign out; ``telegram``: the webhook's secret token, as Telegram
sends it."""
TELEGRAM_SECRET = "fuzz-webhook-secret_0123"
MAX_EXAMPLES = 10
"""Per operation; about 55 operations on two databases keep the run to a few minutes."""


@pytest.fixture(scope="module", params=["sqlite_engine", "postgres_engine"],
                ids=["sqlite", "postgresql"])
def fuzzed_app(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    engine: Engine = request.getfixturevalue(request.param)
    _clean(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        import_catalog(session=session, text=read_catalog_file(DEMO_CATALOG))
        load_rule_files(session=session, directory=DEMO_RULES)
        create_agent(session=session, email="fuzz@example.com", name="Fuzz",
                     password="a long agent password")
        session.commit()
    merchant = merchant_headers(factory)

    def agent_session() -> dict[str, str]:
        with factory() as session:
            agent = session.scalar(select(Agent))
            token = open_session(session=session, agent=agent, lifetime=timedelta(hours=1))
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    HEADERS["merchant"] = lambda: merchant
    HEADERS["agent"] = agent_session
    HEADERS["telegram"] = lambda: {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    telegram = FakeBotApi().start()  # Telegram's servers, at the wire
    settings = GatewaySettings(
        rasa_url="http://127.0.0.1:9", telegram_token=telegram.token,
        telegram_api_url=telegram.base_url, telegram_file_url=telegram.file_url,
        telegram_mode="webhook", telegram_webhook_secret=TELEGRAM_SECRET,
        public_url="https://shop.example")
    app = create_app(settings, session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path_factory.mktemp("ix")))
    try:
        with TestClient(app):  # lifespan: knowledge, chat and Telegram services in app.state
            yield app
    finally:
        telegram.stop()
        _clean(engine)


READINESS = "/ready"
"""Answers 503 by contract while a dependency is down (here Rasa, on a closed port): held
to its schema like every route, but its 503 is the answer, not a server error."""


def fuzz(operation: schemathesis.APIOperation, headers: Callable[[], dict[str, str]]
         ) -> None:
    checks = ([status_code_conformance] if operation.path == READINESS
              else [not_a_server_error, status_code_conformance])

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers(), checks=checks)

    run()


def test_no_input_causes_a_server_error_or_an_undocumented_status(fuzzed_app: FastAPI
                                                                  ) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {operation.path for operation in operations}
    # the whole schema: the gateway's own routes are in it, not only the commerce API
    assert {"/api/chat", "/api/chat/{conversation_id}/history", "/agent/api/login",
            "/agent/api/conversations/{conversation_id}/claim", "/api/faq/answer",
            "/api/products/search", "/telegram/webhook", "/health",
            "/api/health"} <= paths
    assert len(operations) >= 50
    # the Telegram webhook is served (not a 404 for want of a bot) once its bot runs
    deadline = time.monotonic() + 60
    while not fuzzed_app.state.telegram.bot.running:
        assert time.monotonic() < deadline, "the Telegram bot did not start"
        time.sleep(0.1)
    readiness = TestClient(fuzzed_app).get(READINESS)  # the lifespan runs in the fixture
    assert readiness.status_code == 503 and readiness.json()["checks"]["rasa"] == "down"
    failures: dict[str, str] = {}
    for operation in operations:
        headers = HEADERS["agent" if operation.path.startswith("/agent/") else
                          "telegram" if operation.path.startswith("/telegram/") else "merchant"]
        try:
            fuzz(operation, headers)
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup (with a repro), a crash
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
