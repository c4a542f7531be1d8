"""Merchant and operator commands of the commerce core.

    python -m commerce_core migrate
    python -m commerce_core import-catalog catalog.csv
    python -m commerce_core load-rules path/to/rules/
    python -m commerce_core load-demo
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy import func, select

from commerce_core import clock
from commerce_core.auth import create_api_key, revoke_api_key
from commerce_core.catalog.importer import CatalogFileError, import_catalog, read_catalog_file
from commerce_core.config import get_settings
from commerce_core.customization.loader import RuleFileError, load_rule_files
from commerce_core.db import get_sessionmaker
from commerce_core.migrate import upgrade
from commerce_core.models import Product
from commerce_core.order.service import expire_reservations

DEMO_DIR = Path(__file__).with_name("demo")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_import(path: Path) -> int:
    try:
        text = read_catalog_file(path)
    except (CatalogFileError, OSError) as exc:
        _say(f"error: {exc}")
        return 2
    with get_sessionmaker()() as session:
        try:
            report = import_catalog(session=session, text=text)
        except CatalogFileError as exc:
            _say(f"error: {path}: {exc}")
            return 2
        session.commit()
    _say(f"{path.name}: {report.rows} rows, {report.created} variants created, "
         f"{report.updated} updated, {report.unchanged} unchanged, "
         f"{report.errors_total} errors")
    for error in report.errors:
        _say(f"  row {error.row}, column {error.column}: {error.reason}")
    return 1 if report.errors else 0


def cmd_rules(directory: Path) -> int:
    with get_sessionmaker()() as session:
        try:
            loaded = load_rule_files(session=session, directory=directory)
        except RuleFileError as exc:
            _say(f"error: {exc}")
            return 2
        session.commit()
    _say(f"{len(loaded)} customisation rule files loaded from {directory}")
    return 0


def cmd_admin(args: argparse.Namespace) -> int:
    with get_sessionmaker()() as session:
        if args.command == "create-api-key":
            row, key = create_api_key(session=session, name=args.name)
            session.commit()
            _say(f"merchant API key {row.prefix}… for {row.name!r} (shown only now):\n{key}")
            return 0
        if args.command == "revoke-api-key":
            done = revoke_api_key(session=session, prefix=args.prefix)
            session.commit()
            _say("revoked" if done else f"no active key with prefix {args.prefix}")
            return 0 if done else 1
        count = expire_reservations(session=session, now=clock.now())
        session.commit()
        _say(f"{count} unpaid orders cancelled and their stock released")
        return 0


def catalog_is_empty() -> bool:
    with get_sessionmaker()() as session:
        return session.scalar(select(func.count(Product.id))) == 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m commerce_core")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the database migrations")
    p_import = sub.add_parser("import-catalog", help="import a merchant catalog CSV")
    p_import.add_argument("path", type=Path)
    p_rules = sub.add_parser("load-rules", help="load customisation rule files (YAML)")
    p_rules.add_argument("directory", type=Path)
    p_key = sub.add_parser("create-api-key", help="create a merchant API key (shown once)")
    p_key.add_argument("name")
    p_revoke = sub.add_parser("revoke-api-key", help="revoke a merchant API key by prefix")
    p_revoke.add_argument("prefix")
    sub.add_parser("expire-reservations", help="cancel unpaid orders past their reservation")
    p_demo = sub.add_parser("load-demo", help="migrate and load the demo shop")
    p_demo.add_argument("--if-empty", action="store_true",
                        help="only when the catalog has no products yet (keeps edits)")
    args = parser.parse_args(argv)

    if args.command == "migrate":
        upgrade(get_settings().database_url)
        return 0
    if args.command in {"create-api-key", "revoke-api-key", "expire-reservations"}:
        return cmd_admin(args)
    if args.command == "import-catalog":
        return cmd_import(args.path)
    if args.command == "load-rules":
        return cmd_rules(args.directory)
    upgrade(get_settings().database_url)
    if args.if_empty and not catalog_is_empty():
        _say("catalog already has products: demo shop not reloaded")
        return 0
    status = cmd_import(DEMO_DIR / "catalog.csv")
    return status or cmd_rules(DEMO_DIR / "customization") or cmd_demo_orders()


def cmd_demo_orders() -> int:
    """The demo shop's year of delivered orders (commerce_core/demo/orders.py) and the
    conversations of its last months (commerce_core/demo/conversations.py)."""
    from commerce_core.demo import conversations as demo_conversations
    from commerce_core.demo import orders as demo_orders

    with get_sessionmaker()() as session:
        added = demo_orders.load(session=session)
        talks = demo_conversations.load(session=session)
        session.commit()
    _say(f"{added} demo orders loaded" if added else "demo orders already loaded")
    _say(f"{talks} demo conversations loaded" if talks else "demo conversations already loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
