"""``python -m knowledge.eval_search`` on a relevance set small enough to judge by eye."""

import csv
import math
from pathlib import Path

import pytest

from knowledge.eval_search import main, ndcg_at, recall_at, split_of

HEADER = "sku,name,description,category,price,currency,stock,attributes,image_url,handle"
ROWS = [  # sku, name, description, category, price, attributes, handle
    ("MUG-1", "Cobalt Blue Ceramic Mug", "A thrown mug in deep cobalt glaze.", "ceramics",
     "30.00", "type:mug|colour:blue|material:ceramic", ""),
    ("RNG-S", "Silver Stacking Ring — Size S", "A slim band of sterling silver.", "jewellery",
     "40.00", "type:ring|colour:silver|size:s", "stacking-ring"),
    ("RNG-L", "Silver Stacking Ring — Size L", "A slim band of sterling silver.", "jewellery",
     "42.00", "type:ring|colour:silver|size:l", "stacking-ring"),
    ("WAL-1", "Leather Bifold Wallet", "Six card slots and saddle stitching.", "leather",
     "65.00", "type:wallet|colour:brown|material:leather", ""),
    ("CND-1", "Beeswax Taper Candles", "A pair of hand-dipped candles.", "candles", "14.00",
     "type:candle|colour:cream|material:beeswax", ""),
    ("TWL-1", "Linen Tea Towel", "Stonewashed linen that dries glasses well.", "textiles",
     "16.00", "type:tea towel|colour:green|material:linen", ""),
]
CATALOG = "\n".join([HEADER] + [
    f"{sku},{name},{text},{category},{price},EUR,3,{attributes},/x.svg,{handle}"
    for sku, name, text, category, price, attributes, handle in ROWS]) + "\n"
QUERIES = "query_id\tquery\nq1\tblue ceramic mug\nq2\tsilvr ring\n"
# the ring is labelled through its second variant: it counts for the whole product
LABELS = "query_id\tsku\tgrade\nq1\tMUG-1\t2\nq1\tWAL-1\t0\nq2\tRNG-L\t2\nq2\tNOPE-9\t1\n"


def _write(tmp_path: Path, **files: str) -> dict[str, Path]:
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text)
    return paths


def test_the_run_file_and_the_metrics_of_every_mode(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    files = _write(tmp_path, products=CATALOG, queries=QUERIES, labels=LABELS)
    out = tmp_path / "out" / "run.tsv"
    # when
    code = main(["--products", str(files["products"]), "--queries", str(files["queries"]),
                 "--labels", str(files["labels"]), "--out", str(out)])
    # then the run lists every product once per query and mode, best first
    assert code == 0
    with out.open() as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["mode", "query_id", "sku", "rank", "score"]
    by_run: dict[tuple[str, str], list[list[str]]] = {}
    for row in rows[1:]:
        by_run.setdefault((row[0], row[1]), []).append(row)
    modes = ("dense", "lexical", "hybrid", "understood")
    assert set(by_run) == {(m, q) for m in modes for q in ("q1", "q2")}
    for (mode, _), ranking in by_run.items():
        assert [int(r[3]) for r in ranking] == list(range(1, len(ranking) + 1))
        scores = [float(r[4]) for r in ranking]
        assert scores == sorted(scores, reverse=True)
        skus = [r[2] for r in ranking]
        assert len(skus) == len(set(skus)) and not {"RNG-S", "RNG-L"} <= set(skus)
        if mode != "lexical":
            assert len(ranking) == 5  # one SKU per product
    for mode in ("hybrid", "understood"):
        assert by_run[(mode, "q1")][0][2] == "MUG-1"
        assert by_run[(mode, "q2")][0][2] == "RNG-S"  # the ring, shown by its cheapest SKU
    # and the metrics are printed per mode: both queries answered perfectly
    printed = capsys.readouterr().out
    assert "6 products" not in printed and "5 products (6 SKUs, flat index), 2 queries" in printed
    table = {tuple(line.split()[:2]): line.split()[2:] for line in printed.splitlines()
             if line.split()[:1] in ([m] for m in modes)}
    for mode in modes:
        assert table[(mode, "all")] == ["2", "1.000", "1.000"]
        assert table[(mode, "tuning")] == ["1", "1.000", "1.000"]


def test_graded_metrics_by_hand() -> None:
    grades = {1: 2.0, 2: 1.0, 3: 0.0, 4: 1.0}
    assert ndcg_at([1, 2, 4], grades) == pytest.approx(1.0)  # the ideal order
    actual = 0 + 3 / math.log2(3) + 1 / 2  # gains 2^g - 1 of [3, 1, 2] over log2(rank + 1)
    ideal = 3 + 1 / math.log2(3) + 1 / 2
    assert ndcg_at([3, 1, 2], grades) == pytest.approx(actual / ideal)
    assert recall_at([3, 1, 9], grades) == pytest.approx(1 / 3)
    assert recall_at([1, 2, 3, 4], grades, k=2) == pytest.approx(2 / 3)
    assert (split_of("q001"), split_of("q002"), split_of("b-17")) == (
        "tuning", "held-out", "tuning")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("queries", "id\tquery\nq1\tmug\n", "header must be query_id<TAB>query"),
    ("labels", "query_id\tsku\tgrade\nq1\tMUG-1\tgood\n", "line 2: grade 'good'"),
    ("labels", "query_id\tsku\tgrade\nq1\tMUG-1\n", "line 2: 3 cells expected"),
])
def test_unusable_files_are_refused_with_the_line(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  name: str, text: str, message: str) -> None:
    files = _write(tmp_path, products=CATALOG, queries=QUERIES, labels=LABELS)
    files[name].write_text(text)
    code = main(["--products", str(files["products"]), "--queries", str(files["queries"]),
                 "--labels", str(files["labels"]), "--out", str(tmp_path / "run.tsv")])
    assert code == 2 and message in caplog.text
    assert not (tmp_path / "run.tsv").exists()
