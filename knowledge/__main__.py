"""Knowledge commands.

    python -m knowledge build-index     build (or confirm) the product search index
    python -m knowledge check [--dir D]  check the FAQ files (file:line: problem)
"""

from __future__ import annotations

import argparse
import logging
import sys

from commerce_core.db import get_sessionmaker
from knowledge.config import get_settings
from knowledge.service import KnowledgeService


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m knowledge")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build-index", help="build the product index if the catalog changed")
    sub.add_parser("check", add_help=False, help="check the FAQ files: one line per problem")
    args, rest = parser.parse_known_args(argv)
    if args.command == "check":
        from knowledge.check import main as check_faq

        return check_faq(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    service = KnowledgeService(settings=get_settings(), session_factory=get_sessionmaker())
    index = service.refresh(progress=True)
    service.close()
    sys.stdout.write(f"product index: {len(index.docs)} products, model {index.model_name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
