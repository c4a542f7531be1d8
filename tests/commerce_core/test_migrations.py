from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

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


def test_accounts_made_before_roles_become_agents(tmp_path) -> None:
    # given an account of the console made before accounts had roles
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = _migrated(url)
    downgrade(url, "0009")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agent (email, name, password_hash, active, created_at, "
                          "updated_at) VALUES ('ana@shop.example', 'Ana', 'x', true, "
                          "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    # when
    upgrade(url)
    engine.dispose()
    # then
    with engine.connect() as conn:
        assert conn.execute(text("SELECT role FROM agent")).scalar_one() == "agent"
    downgrade(url, "0009")
    engine.dispose()
    assert "role" not in {c["name"] for c in inspect(engine).get_columns("agent")}
    engine.dispose()


def test_an_account_inserted_without_a_role_is_an_agent(engine: Engine) -> None:
    # the column's default in the database itself, on SQLite and PostgreSQL
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agent (email, name, password_hash, active, created_at, "
                          "updated_at) VALUES ('ben@shop.example', 'Ben', 'x', true, "
                          "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        assert conn.execute(text("SELECT role FROM agent")).scalar_one() == "agent"
