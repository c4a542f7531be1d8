"""The rolling-origin backtest, its MASE and coverage on a panel small enough to score by
hand, the sales file reader, the evaluation command and the sales generator."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from commerce_core.planning import evaluate, simulate
from commerce_core.planning.backtest import (
    Panel,
    at_step,
    backtest,
    naive_scale,
    rolling_origins,
    score,
)
from commerce_core.planning.forecast import METHODS

MONDAY = date(2024, 1, 1)


def tiny_panel() -> Panel:
    return Panel(first_monday=MONDAY, skus=["A", "B", "C"], categories=["", "", ""],
                 sales=np.array([
                     [2, 4, 2, 4, 2, 4, 2, 4, 2, 0],  # A: scale 2
                     [0, 0, 0, 0, 0, 0, 0, 0, 0, 1],  # B: launched after the origin
                     [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # C: no change, so no scale
                 ], dtype=float))


def test_rolling_origins_leave_the_horizon_after_the_last() -> None:
    assert rolling_origins(60, horizon=8, count=3, step=4) == [44, 48, 52]
    assert rolling_origins(20, horizon=8, count=5, step=4) == [8, 12]  # 8 weeks at least


def test_naive_scale() -> None:
    assert naive_scale(np.array([2.0, 4.0, 2.0])) == pytest.approx(2.0)
    assert naive_scale(np.array([1.0, 1.0])) is None
    assert naive_scale(np.array([5.0])) is None


def test_mase_relative_mae_and_coverage_by_hand() -> None:
    # given one origin, week 8, and a two-week horizon: actual A = [2, 0], C = [1, 1]
    panel = tiny_panel()
    runs = backtest(panel, origins=[8], horizon=2, level=0.8, methods=["mean", "snaive"])
    # then B (no sale before the origin) is not scored
    assert set(runs["mean"].rows) == {0, 2}
    scores = {s.method: s for s in score(panel, runs)}
    mean, naive = scores["mean"], scores["snaive"]
    # mean of A's history is 3: errors 1 and 3, MAE 2 over a scale of 2
    # naive (no year of history) repeats A's last week, 4: errors 2 and 4, MAE 3
    assert mean.mase == pytest.approx(1.0) and naive.mase == pytest.approx(1.5)
    assert mean.products == naive.products == 1  # C has no scale: out of MASE only
    # summed errors: mean 1 + 3 (+ 0 for C), naive 2 + 4
    assert mean.relative_mae == pytest.approx(4 / 6) and naive.relative_mae == 1.0
    # A's mean interval: 3 ± 1 (residual quantiles) × √(1 + 1/8) holds 2, not 0;
    # naive: 4 ± 2 × √h holds 2 at h=1 (bound included), not 0 at h=2; C's hold 1
    assert mean.coverage == pytest.approx(0.75) and naive.coverage == pytest.approx(0.75)
    assert mean.width == pytest.approx((2 * np.sqrt(1 + 1 / 8) * 2 + 0) / 4)
    assert mean.points == naive.points == 4
    # one week ahead: errors 1 (mean) and 2 (naive); two weeks ahead: 3 and 4
    first = {s.method: s.mase for s in score(panel, {m: at_step(r, 1) for m, r in runs.items()})}
    second = {s.method: s.mase for s in score(panel, {m: at_step(r, 2)
                                                      for m, r in runs.items()})}
    assert first == pytest.approx({"mean": 0.5, "snaive": 1.0})
    assert second == pytest.approx({"mean": 1.5, "snaive": 2.0})


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_read_sales_sums_weeks_nets_returns_and_drops_a_part_week(tmp_path: Path) -> None:
    path = _write(tmp_path / "sales.tsv", "sku\tdate\tquantity\n"
                  "MUG\t2024-01-01\t2\n"        # Monday of week 0
                  "MUG\t2024-01-07 18:30\t1\n"  # its Sunday, with a time
                  "MUG\t2024-01-09\t-1\n"       # a return in week 1
                  "BAG\t2024-01-10\t-3\n"       # more returned than sold: 0
                  "\n"
                  "MUG\t2024-01-16\t4\n")       # a Tuesday: week 2 is not over
    panel = evaluate.read_sales(path)
    assert panel.first_monday == MONDAY and panel.skus == ["BAG", "MUG"]
    assert panel.sales.tolist() == [[0, 0], [3, 0]]
    assert panel.categories == ["", ""]


@pytest.mark.parametrize(("text", "message"), [
    ("sku\tday\tquantity\n", "line 1: the header lacks date"),
    ("sku\tdate\tquantity\nMUG\t2024-13-01\t1\n", "line 2:"),
    ("sku\tdate\tquantity\nMUG\t2024-01-01\tmany\n", "line 2:"),
    ("sku\tdate\tquantity\nMUG\t2024-01-01\n", "line 2:"),
    ("sku\tdate\tquantity\n\t2024-01-01\t1\n", "line 2: the sku"),
    ("sku\tdate\tquantity\n", "no sales"),
])
def test_read_sales_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(evaluate.SalesFileError, match=message):
        evaluate.read_sales(_write(tmp_path / "sales.tsv", text))


def test_the_evaluation_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a generated shop of 8 products over 70 weeks
    sales, out = tmp_path / "sales.tsv", tmp_path / "out" / "forecast.tsv"
    assert simulate.main(["--out", str(sales), "--skus", "8", "--weeks", "70"]) == 0
    # when
    code = evaluate.main(["--sales", str(sales), "--out", str(out), "--horizon", "4",
                          "--origins", "3", "--step", "4"])
    # then every method is scored and every forecast written
    assert code == 0
    printed = capsys.readouterr().out
    lines = [line.split() for line in printed.splitlines()]
    rows = [cells for cells in lines if cells and cells[0] in METHODS]
    table = {cells[0]: cells for cells in rows[:len(METHODS)]}
    by_step = {cells[0]: cells[1:] for cells in rows[len(METHODS):]}
    assert list(table) == list(by_step) == list(METHODS)
    assert all(len(mases) == 4 for mases in by_step.values())  # one per week ahead
    for method in METHODS:
        mase, relative = float(table[method][1]), float(table[method][2])
        assert mase > 0 and relative > 0
    assert float(table["snaive"][2]) == 1.0
    with out.open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert list(rows[0]) == evaluate.OUT_HEADER
    backtest_rows = [r for r in rows if r["kind"] == "backtest"]
    future = [r for r in rows if r["kind"] == "forecast"]
    assert {r["method"] for r in backtest_rows} == set(METHODS)
    assert {r["step"] for r in future} == {"1", "2", "3", "4"}
    assert all(r["actual"] == "" for r in future)
    for r in backtest_rows:
        assert float(r["low"]) <= float(r["high"]) and float(r["forecast"]) >= 0


def test_the_evaluation_command_refuses_a_bad_file(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sales = _write(tmp_path / "sales.tsv", "sku\tdate\tquantity\nMUG\tyesterday\t1\n")
    assert evaluate.main(["--sales", str(sales), "--out", str(tmp_path / "o.tsv")]) == 2
    assert "line 2" in capsys.readouterr().err
    short = _write(tmp_path / "short.tsv", "sku\tdate\tquantity\nMUG\t2024-01-01\t1\n"
                                           "MUG\t2024-02-20\t1\n")
    assert evaluate.main(["--sales", str(short), "--out", str(tmp_path / "o.tsv")]) == 2
    assert "too few" in capsys.readouterr().err


def test_the_generator_is_repeatable_and_has_a_christmas() -> None:
    rows = simulate.generate(seed=3, skus=30, weeks=104, start=date(2022, 1, 3))
    assert rows == simulate.generate(seed=3, skus=30, weeks=104, start=date(2022, 1, 3))
    assert rows != simulate.generate(seed=4, skus=30, weeks=104, start=date(2022, 1, 3))
    by_month = np.zeros(13)
    for _, day, quantity, _ in rows:
        by_month[day.month] += quantity
    assert by_month[12] > 1.5 * by_month[8]
    assert {category for *_, category in rows} == set(simulate.CATEGORIES)


def test_mothers_day() -> None:
    assert simulate.mothers_day(2024) == date(2024, 5, 12)
    assert simulate.mothers_day(2025) == date(2025, 5, 11)
