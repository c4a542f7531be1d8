"""Product pictures of the demo shop, drawn from each product's attributes.

The demo catalog has no photographs, and Telegram shows only raster images (JPEG, PNG,
WebP), so every demo product gets a picture of its own: a flat drawing of its kind of
object (mug, candle, print, ring, scarf…) in its colour, on a pale ground of that colour,
with a pattern chosen from its SKU and its name underneath. They were generated once and
are served from ``channels/static/img/products/``; after a change of the catalog run

    python -m commerce_core.demo.images

which draws the missing and changed pictures and points ``image_url`` at them. The same
SKU and attributes always give the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib
from PIL import Image, ImageDraw, ImageFont

DEMO_DIR = Path(__file__).resolve().parent
CATALOG = DEMO_DIR / "catalog.csv"
IMAGE_DIR = DEMO_DIR.parent.parent / "channels" / "static" / "img" / "products"
URL_PREFIX = "/static/img/products/"
SIZE = 480
FONT = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
"""DejaVu Sans as matplotlib ships it (accents, dashes), so every machine draws the same."""
"""Square pictures: Telegram shows them whole, the widget crops nothing."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "blue": (43, 92, 171), "navy": (31, 46, 92), "teal": (27, 128, 128),
    "green": (62, 128, 74), "brown": (124, 82, 52), "beige": (196, 170, 130),
    "cream": (226, 212, 178), "white": (236, 234, 228), "grey": (130, 134, 138),
    "black": (38, 38, 40), "red": (178, 46, 46), "pink": (222, 128, 160),
    "orange": (222, 122, 44), "yellow": (228, 184, 48), "gold": (196, 152, 56),
    "silver": (170, 174, 182), "purple": (112, 72, 148), "multicolour": (184, 84, 120),
}
ACCENTS = [(43, 92, 171), (222, 122, 44), (62, 128, 74), (178, 46, 46), (228, 184, 48)]

Box = tuple[int, int, int, int]
Drawing = Callable[[ImageDraw.ImageDraw, tuple[int, int, int], Box], None]


def _mug(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.rounded_rectangle((x0 + 30, y0 + 30, x1 - 70, y1), radius=22, fill=c)
    d.arc((x1 - 120, y0 + 70, x1 - 10, y1 - 60), start=-80, end=80, fill=c, width=22)


def _plate(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.ellipse((x0, y0 + 40, x1, y1 - 10), fill=c)
    d.ellipse((x0 + 50, y0 + 75, x1 - 50, y1 - 45), outline=_light(c, 0.45), width=8)


def _vessel(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    mid = (x0 + x1) // 2
    d.ellipse((x0 + 10, y0 + 80, x1 - 10, y1), fill=c)
    d.rectangle((mid - 34, y0, mid + 34, y0 + 110), fill=c)
    d.ellipse((mid - 50, y0 - 14, mid + 50, y0 + 20), fill=_light(c, 0.25))


def _candle(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.rounded_rectangle((x0 + 50, y0 + 90, x1 - 50, y1), radius=14, fill=c)
    mid = (x0 + x1) // 2
    d.line((mid, y0 + 90, mid, y0 + 60), fill=(40, 40, 40), width=5)
    d.ellipse((mid - 18, y0 + 10, mid + 18, y0 + 66), fill=(246, 176, 58))
    d.ellipse((mid - 8, y0 + 34, mid + 8, y0 + 62), fill=(255, 236, 160))


def _print(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.rectangle((x0 + 20, y0, x1 - 20, y1), fill=(250, 248, 242), outline=(60, 52, 44),
                width=12)
    d.ellipse((x1 - 130, y0 + 40, x1 - 60, y0 + 110), fill=_light(c, 0.35))
    d.polygon([(x0 + 40, y1 - 20), (x0 + 130, y0 + 110), (x0 + 220, y1 - 20)], fill=c)
    d.polygon([(x0 + 150, y1 - 20), (x1 - 110, y0 + 150), (x1 - 40, y1 - 20)],
              fill=_dark(c, 0.7))


def _ring(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.ellipse((x0 + 40, y0 + 60, x1 - 40, y1 - 20), outline=c, width=30)
    mid = (x0 + x1) // 2
    d.polygon([(mid, y0 + 10), (mid + 34, y0 + 50), (mid, y0 + 90), (mid - 34, y0 + 50)],
              fill=_light(c, 0.4), outline=_dark(c, 0.7), width=3)


def _necklace(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.arc((x0, y0 - 120, x1, y1 - 40), start=20, end=160, fill=_dark(c, 0.8), width=8)
    mid = (x0 + x1) // 2
    d.ellipse((mid - 40, y1 - 110, mid + 40, y1 - 30), fill=c)


def _cloth(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.polygon([(x0 + 10, y0 + 40), (x1 - 10, y0 + 10), (x1 - 30, y1), (x0 + 30, y1 - 20)],
              fill=c)
    for i in range(1, 5):
        y = y0 + 40 + i * (y1 - y0 - 60) // 5
        d.line((x0 + 20, y, x1 - 20, y - 30), fill=_light(c, 0.4), width=10)


def _leather(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.rounded_rectangle((x0 + 10, y0 + 60, x1 - 10, y1 - 20), radius=26, fill=c)
    d.rounded_rectangle((x0 + 10, y0 + 60, x1 - 10, y0 + 150), radius=26,
                        fill=_dark(c, 0.8))
    d.line((x0 + 30, y1 - 40, x1 - 30, y1 - 40), fill=_light(c, 0.35), width=4)
    d.ellipse(((x0 + x1) // 2 - 16, y0 + 134, (x0 + x1) // 2 + 16, y0 + 166),
              fill=(196, 160, 72))


def _paper(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.rounded_rectangle((x0 + 40, y0, x1 - 40, y1), radius=10, fill=c)
    d.rectangle((x0 + 40, y0, x0 + 70, y1), fill=_dark(c, 0.7))
    for i in range(1, 7):
        y = y0 + i * (y1 - y0) // 7
        d.line((x0 + 90, y, x1 - 60, y), fill=_light(c, 0.5), width=4)


def _wood(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.rounded_rectangle((x0 + 10, y0 + 60, x1 - 10, y1 - 30), radius=40, fill=c)
    d.ellipse((x1 - 80, y0 + 110, x1 - 40, y0 + 150), fill=_light(c, 0.7))
    for i in range(1, 6):
        y = y0 + 60 + i * (y1 - y0 - 90) // 6
        d.arc((x0 + 30, y - 20, x1 - 100, y + 20), start=180, end=360,
              fill=_dark(c, 0.75), width=3)


def _glass(d: ImageDraw.ImageDraw, c: tuple[int, int, int], b: Box) -> None:
    x0, y0, x1, y1 = b
    d.polygon([(x0 + 60, y0), (x1 - 60, y0), (x1 - 90, y1), (x0 + 90, y1)],
              fill=_light(c, 0.35), outline=c, width=10)
    d.line((x0 + 100, y0 + 30, x0 + 120, y1 - 40), fill=(255, 255, 255), width=8)


KINDS: dict[str, Drawing] = {
    "mug": _mug, "tumbler": _mug, "jug": _mug, "teapot": _mug, "salt pig": _mug,
    "plate": _plate, "bowl": _plate, "dish": _plate, "ring dish": _plate, "coaster": _plate,
    "platter": _plate, "clock": _plate, "bauble": _plate, "paperweight": _plate,
    "vase": _vessel, "carafe": _vessel, "planter": _vessel, "oil bottle": _vessel,
    "reed diffuser": _vessel, "terrarium": _vessel,
    "candle": _candle, "tealight": _candle, "wax melt": _candle, "candle holder": _candle,
    "lantern": _candle,
    "ring": _ring, "bracelet": _ring, "earrings": _ring, "anklet": _ring, "cufflinks": _ring,
    "brooch": _ring, "necklace": _necklace,
}
BY_CATEGORY: dict[str, Drawing] = {
    "ceramics": _plate, "glass": _glass, "candles": _candle, "jewellery": _ring,
    "prints": _print, "textiles": _cloth, "leather": _leather, "stationery": _paper,
    "woodwork": _wood,
}


def _light(c: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    """``c`` mixed with white: ``share`` of the colour is left."""
    return tuple(round(255 - (255 - v) * share) for v in c)  # type: ignore[return-value]


def _dark(c: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    return tuple(round(v * share) for v in c)  # type: ignore[return-value]


def attributes_of(cell: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in cell.split("|") if ":" in part)
    return {key.strip().lower(): value.strip().lower() for key, value in pairs}


def draw(*, sku: str, name: str, category: str, attributes: dict[str, str]) -> bytes:
    """The PNG picture of one product (the same inputs give the same bytes)."""
    seed = hashlib.sha256(sku.encode()).digest()
    colour = COLOURS.get(attributes.get("colour", ""), ACCENTS[seed[0] % len(ACCENTS)])
    image = Image.new("RGB", (SIZE, SIZE), _light(colour, 0.16))
    d = ImageDraw.Draw(image)
    _pattern(d, colour, seed)
    kind = attributes.get("type", "")
    drawing = KINDS.get(kind) or BY_CATEGORY.get(category, _plate)
    drawing(d, colour, (110, 70, 370, 330))
    d.rectangle((0, 372, SIZE, SIZE), fill=(250, 248, 244))
    _caption(d, name)
    out = io.BytesIO()
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
                   ).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _pattern(d: ImageDraw.ImageDraw, colour: tuple[int, int, int], seed: bytes) -> None:
    """A background pattern (dots, stripes or waves) with the SKU's own spacing."""
    tint = _light(colour, 0.3)
    step = 28 + seed[1] % 24
    style = seed[2] % 3
    for i, y in enumerate(range(-step, 372, step)):
        if style == 0:
            for x in range((i % 2) * step // 2, SIZE, step):
                d.ellipse((x - 4, y - 4, x + 4, y + 4), fill=tint)
        elif style == 1:
            d.line((0, y + seed[3] % step, SIZE, y + seed[3] % step - 60), fill=tint, width=6)
        else:
            d.arc((-40, y, SIZE + 40, y + step * 2), start=200, end=340, fill=tint, width=5)


def _caption(d: ImageDraw.ImageDraw, name: str) -> None:
    font = ImageFont.truetype(str(FONT), size=24)
    words, lines = name.split(), [""]
    for word in words:
        candidate = f"{lines[-1]} {word}".strip()
        if d.textlength(candidate, font=font) <= SIZE - 40 or not lines[-1]:
            lines[-1] = candidate
        else:
            lines.append(word)
    lines = lines[:2]
    top = 380 if len(lines) == 2 else 396
    for i, line in enumerate(lines):
        width = d.textlength(line, font=font)
        d.text(((SIZE - width) / 2, top + i * 34), line, font=font, fill=(44, 40, 36))


def file_name(sku: str) -> str:
    return f"{sku.lower()}.png"


def generate(catalog: Path = CATALOG, image_dir: Path = IMAGE_DIR) -> int:
    """Draw every product's picture into ``image_dir`` and point ``image_url`` at it;
    returns how many files were written (unchanged pictures are left as they are)."""
    with catalog.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    image_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for row in rows:
        png = draw(sku=row["sku"], name=row["name"], category=row["category"].lower(),
                   attributes=attributes_of(row["attributes"]))
        target = image_dir / file_name(row["sku"])
        if not target.exists() or target.read_bytes() != png:
            target.write_bytes(png)
            written += 1
        row["image_url"] = URL_PREFIX + file_name(row["sku"])
    with catalog.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return written


if __name__ == "__main__":
    count = generate()
    sys.stderr.write(f"{count} picture(s) written to {IMAGE_DIR}\n")
