"""Every demo product has a raster picture of its own, made by the generator."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from PIL import Image

from channels.telegram.photos import STATIC_DIR
from commerce_core.demo.images import URL_PREFIX, attributes_of, draw, file_name
from tests.conftest import DEMO_CATALOG


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with DEMO_CATALOG.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_product_has_its_own_png_that_telegram_accepts(rows: list[dict[str, str]]
                                                              ) -> None:
    digests = set()
    for row in rows:
        assert row["image_url"] == URL_PREFIX + file_name(row["sku"])
        data = (STATIC_DIR / row["image_url"].removeprefix("/static/")).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 10 * 1024 * 1024
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (480, 480)
        digests.add(hashlib.sha256(data).hexdigest())
    assert len(digests) == len(rows) == 342


def test_the_pictures_are_what_the_generator_draws_from_the_catalog(
        rows: list[dict[str, str]]) -> None:
    for row in rows[::40]:
        drawn = draw(sku=row["sku"], name=row["name"], category=row["category"].lower(),
                     attributes=attributes_of(row["attributes"]))
        committed = (STATIC_DIR / row["image_url"].removeprefix("/static/")).read_bytes()
        assert drawn == committed, f"{row['sku']}: run python -m commerce_core.demo.images"


def test_the_picture_follows_the_colour_attribute() -> None:
    def ground(colour: str) -> tuple[int, int, int]:
        png = draw(sku="X-1", name="A mug", category="ceramics",
                   attributes={"type": "mug", "colour": colour})
        with Image.open(io.BytesIO(png)) as image:
            return image.convert("RGB").getpixel((2, 200))
    blue, red = ground("blue"), ground("red")
    assert blue[2] > blue[0] and red[0] > red[2]
