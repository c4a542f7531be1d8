"""Schemathesis: no input described by the OpenAPI schema makes the API fail with a 5xx."""

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import sessionmaker

from channels.app import create_app
from channels.config import GatewaySettings
from commerce_core.catalog.importer import import_catalog, read_catalog_file
from commerce_core.customization.loader import load_rule_files
from commerce_core.db import make_engine
from knowledge.config import KnowledgeSettings
from tests.commerce_core.helpers import merchant_headers
from tests.conftest import DEMO_CATALOG, DEMO_RULES, _migrated

HEADERS: dict[str, str] = {}


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    _migrated(url).dispose()
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
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


def test_no_input_causes_a_server_error(fuzzed_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=HEADERS, checks=[not_a_server_error])

        run()
