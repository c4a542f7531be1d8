"""Schemathesis, on SQLite and PostgreSQL: no input described by the OpenAPI schema makes
the API fail with a 5xx, and the commerce API answers only the status codes it documents."""

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.customization.loader import load_rule_files
from knowledge.config import KnowledgeSettings
from tests.commerce_core.helpers import merchant_headers
from tests.conftest import DEMO_CATALOG, DEMO_RULES, _clean

HEADERS: dict[str, str] = {}
COMMERCE_TAGS = {"catalog", "merchant", "customisation", "cart", "orders", "payments",
                 "shipments", "health"}
"""The commerce API (``commerce_core``): every status it answers is in its schema."""


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
        session.commit()
    HEADERS.update(merchant_headers(factory))
    app = create_app(GatewaySettings(rasa_url="http://127.0.0.1:9"),
                     session_factory=factory,
                     knowledge_settings=KnowledgeSettings(data_dir=tmp_path_factory.mktemp("ix")))
    with TestClient(app):  # lifespan: knowledge service and chat service in app.state
        yield app
    _clean(engine)


def fuzz(operation: schemathesis.APIOperation, checks: list) -> None:  # type: ignore[type-arg]
    @given(case=operation.as_strategy())
    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=HEADERS, checks=checks)

    run()


def test_no_input_causes_a_server_error_or_an_undocumented_status(fuzzed_app: FastAPI
                                                                  ) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: dict[str, str] = {}
    for operation in operations:
        commerce = (operation.path.startswith("/api/")
                    and bool(COMMERCE_TAGS & set(operation.tags or ())))
        try:
            fuzz(operation, [not_a_server_error, *([status_code_conformance] if commerce
                                                     else [])])
        except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup (with a repro), a crash
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
