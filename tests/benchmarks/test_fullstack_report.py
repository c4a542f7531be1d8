"""The full-stack report's before/after table and ratios, from results made up here."""

from __future__ import annotations

from benchmarks.fullstack_report import (
    LevelResult,
    StackResult,
    Turn,
    before_after_lines,
    body,
    plot,
    process_ratio_lines,
)
from benchmarks.pyspy import Profile


def _level(shoppers: int, search_ms: float, other_ms: float, rate: float,
           cpu: dict[str, float]) -> LevelResult:
    run = [Turn("greet", other_ms, True), Turn("search", search_ms, True)] * 10
    return LevelResult(shoppers, runs=[run, run, run], rates=[rate] * 3,
                       cpu_ms_per_turn=cpu)


def _stack(label: str, processes: int, scale: float, baseline: bool = False) -> StackResult:
    """A stack whose latencies and CPU are ``scale`` times a reference and whose rate is
    ``1 / scale`` times it."""
    cpu = {"rasa": 100 * scale, "actions": 20 * scale, "app": 10 * scale}
    levels = [_level(shoppers, 200 * scale * factor, 50 * scale * factor,
                     4 / scale * factor, cpu)
              for shoppers, factor in ((1, 1), (10, 2), (30, 4))]
    return StackResult(label, processes, levels,
                       {"rasa": int(600 * 2**20 * scale), "actions": 2**28, "app": 2**28},
                       (3.0, 2.5, 2.0), baseline=baseline)


def _row(lines: list[str], figure: str) -> list[str]:
    line = next(line for line in lines if line.startswith(f"| {figure} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_each_figure_of_the_baseline_stands_next_to_each_current_stack_with_its_ratio():
    before = _stack("baseline 183533e", 1, 1.0, baseline=True)
    after = [_stack("current tree", 1, 0.5), _stack("current tree", 2, 0.25)]

    lines = before_after_lines(before, after, profiled=10)

    assert lines[0] == ("| figure | baseline 183533e, 1 Rasa | current tree, 1 Rasa | × before "
                        "| current tree, 2 Rasa | × before |")
    assert _row(lines, "turns/s, 10 at once") == ["turns/s, 10 at once", "8.0", "16.0",
                                                  "× 2.00", "32.0", "× 4.00"]
    assert _row(lines, "p95 ms, 30 at once")[1:] == ["800", "400", "× 0.50", "200", "× 0.25"]
    assert _row(lines, "search turn p50 ms, 1 at once")[1:3] == ["200", "100"]
    assert _row(lines, "CPU ms per turn, rasa, 10 at once")[1:4] == ["100", "50", "× 0.50"]
    assert _row(lines, "CPU ms per turn, all processes, 10 at once")[1:3] == ["130", "65"]
    assert _row(lines, "resident memory, all processes, MiB")[1:4] == ["1112", "812",
                                                                         "× 0.73"]


def test_a_figure_the_baseline_lacks_has_no_ratio():
    before = _stack("baseline", 1, 1.0, baseline=True)
    before.levels[0].cpu_ms_per_turn = {}
    before.levels[1].cpu_ms_per_turn = {"rasa": 0.0}

    lines = before_after_lines(before, [_stack("current tree", 1, 0.5)], profiled=10)

    assert _row(lines, "CPU ms per turn, rasa, 10 at once")[1:] == ["0", "50", "–"]


def test_the_current_tree_s_stacks_are_compared_with_its_first():
    lines = process_ratio_lines([_stack("current tree", 1, 1.0),
                                 _stack("current tree", 2, 0.5)])

    assert "| 2 | 30 | 32.0 (× 2.00) | 400 (× 0.50) |" in lines


def test_the_section_shows_before_after_the_stacks_and_the_profiles(tmp_path):
    before = _stack("baseline 183533e", 1, 1.0, baseline=True)
    current = _stack("current tree", 1, 0.5)
    current.profiles = {
        "rasa-1": Profile(200, [("predict (rasa/core/policies/ted_policy.py)", 0.4)],
                          [("MessageProcessor.handle_message (rasa/core/processor.py)", 0.9),
                           ("predict (rasa/core/policies/ted_policy.py)", 0.4)]),
        "app": Profile(note="py-spy could not attach (Permission denied)")}

    text = "\n".join(body([before, current], "Journey.", profiled=10))
    plot([before, current], tmp_path / "latency.png")

    assert text.index("**Before and after**") < text.index("**baseline 183533e, 1 Rasa")
    assert text.count("\n| search | 200 / 200 | 400 / 400 | 800 / 800 |") == 1
    assert ("| `predict (rasa/core/policies/ted_policy.py)` | 40% | "
            "`MessageProcessor.handle_message (rasa/core/processor.py)` | 90% |") in text
    assert "app: no profile. py-spy could not attach (Permission denied)." in text
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG")
