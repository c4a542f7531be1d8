from sqlalchemy import inspect

from commerce_core.migrate import downgrade, upgrade
from tests.conftest import _migrated


def test_migrations_go_up_and_down_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = _migrated(url)
    tables = set(inspect(engine).get_table_names())
    assert {"product", "variant", "customization_rule_set"} <= tables
    downgrade(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert "variant" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrated_postgres_has_the_catalog_tables(postgres_engine) -> None:
    tables = set(inspect(postgres_engine).get_table_names())
    assert {"product", "variant", "customization_rule_set", "alembic_version"} <= tables
