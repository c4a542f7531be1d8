from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from commerce_core.migrate import downgrade, upgrade
from commerce_core.models import Base
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


def test_the_migrations_build_what_the_models_describe(engine: Engine) -> None:
    # what `alembic check` verifies: autogenerate finds nothing left to migrate
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert "outbox_message" in inspect(engine).get_table_names()


def test_the_outbox_migration_goes_down_and_up_again(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = _migrated(url)
    downgrade(url, "0003")
    assert "outbox_message" not in inspect(engine).get_table_names()
    upgrade(url)
    engine.dispose()  # a pooled SQLite connection may not see another one's new indexes
    assert {"ix_outbox_message_pending", "ix_outbox_message_stream"} == {
        i["name"] for i in inspect(engine).get_indexes("outbox_message")}
    engine.dispose()
