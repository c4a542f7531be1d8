"""Recommender commands.

    python -m knowledge.recommend retrain   learn every paid order again (progress bar)
                                            and write the snapshot the service starts from
"""

from __future__ import annotations

import argparse
import logging
import sys

from tqdm import tqdm

from commerce_core.db import get_sessionmaker
from knowledge.config import get_settings
from knowledge.product_index import ProductIndex
from knowledge.recommend.service import SNAPSHOT_FILE, RecommendService


def _no_index() -> ProductIndex:
    raise RuntimeError("retraining reads no product index")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m knowledge.recommend")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("retrain", help="learn every paid order again and write the snapshot")
    parser.parse_args(argv)
    settings = get_settings()
    service = RecommendService(index=_no_index, session_factory=get_sessionmaker(),
                               directory=settings.index_path, follow_orders=False)
    with tqdm(desc="Learning orders", unit="order") as bar:
        model = service.retrain(save=True, progress=bar.update,
                                on_total=lambda total: setattr(bar, "total", total))
    service.close()
    sys.stdout.write(f"recommender: {model.baskets} paid orders over "
                     f"{len(model.product_ids)} products, EASE on "
                     f"{len(model.ease_weights.items)}; snapshot "
                     f"{settings.index_path / SNAPSHOT_FILE}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
