"""The FAQ evaluation: its arithmetic, its data, and the script end to end on a small set."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from knowledge import eval_faq
from knowledge.embedding import Embedder
from knowledge.eval_faq import (
    Decision,
    Labelled,
    Ranked,
    check_eval_set,
    evaluate,
    load_out_of_scope,
    load_paraphrases,
    split_paraphrases,
    split_questions,
    tune,
    tune_offer,
)
from knowledge.faq_index import Candidate
from knowledge.faq_library import check_directory
from knowledge.faq_parser import FaqEntry
from knowledge.faq_service import NEAR_VERBATIM, FaqService, decide, offered

REPO = Path(__file__).resolve().parents[2]


def ranked(expected: str | None, *scores: tuple[str, float], weakest: float = 1.0) -> Ranked:
    return Ranked(question="q", expected=expected, service_ranked=scores, weakest=weakest)


PARAPHRASES = [
    ranked("ship", ("ship", 0.80), ("cost", 0.50)),   # confident, right
    ranked("ship", ("cost", 0.70), ("ship", 0.68)),   # right one second: wrong or abstain
    ranked("cost", ("cost", 0.45), ("ship", 0.20)),   # right but weak
    ranked("care", ("ship", 0.90), ("care", 0.30)),   # confidently wrong
]
OUT_OF_SCOPE = [ranked(None, ("ship", 0.60), ("cost", 0.10)),
                ranked(None, ("care", 0.30), ("cost", 0.29))]


def test_metrics_follow_threshold_and_margin() -> None:
    metrics = evaluate(PARAPHRASES, OUT_OF_SCOPE, threshold=0.5, margin=0.0)
    assert (metrics.top1, metrics.top3) == (0.5, 1.0)
    assert (metrics.answered_correct, metrics.answered_wrong, metrics.abstained) == (
        0.25, 0.5, 0.25)
    assert metrics.out_of_scope_abstained == 0.5
    strict = evaluate(PARAPHRASES, OUT_OF_SCOPE, threshold=0.5, margin=0.05)
    assert (strict.answered_correct, strict.answered_wrong, strict.abstained) == (
        0.25, 0.25, 0.5)


def test_the_word_floor_declines_a_question_with_a_word_the_entry_lacks() -> None:
    oven = ranked(None, ("clean", 0.90), ("ship", 0.20), weakest=0.25)
    bike = ranked("clean", ("clean", 0.85), ("ship", 0.30), weakest=0.60)
    without = evaluate([bike], [oven], threshold=0.5, margin=0.1)
    assert (without.answered_correct, without.out_of_scope_abstained) == (1.0, 0.0)
    floored = evaluate([bike], [oven], threshold=0.5, margin=0.1, word_floor=0.35)
    assert (floored.answered_correct, floored.out_of_scope_abstained) == (1.0, 1.0)
    # no threshold tells them apart; the floor does, and the lowest that does is chosen
    assert tune([bike], [oven], min_abstention=1.0, thresholds=[0.5, 0.8, 0.95],
                margins=[0.1], word_floors=[0.0, 0.2, 0.3, 0.5, 0.7]) == Decision(0.8, 0.1, 0.3)


def test_tuning_meets_the_constraints_and_then_maximises_right_answers() -> None:
    # abstaining on both out-of-scope questions needs a threshold above 0.60
    decision = tune(PARAPHRASES, OUT_OF_SCOPE, min_abstention=1.0, max_wrong=0.25,
                    thresholds=[0.4, 0.5, 0.61, 0.7, 0.95], margins=[0.0, 0.05],
                    word_floors=[0.0, 0.5])
    assert decision == Decision(0.7, 0.05, 0.0)  # ties with (0.61, 0.05): higher threshold
    with pytest.raises(eval_faq.EvalSetError):
        tune(PARAPHRASES, OUT_OF_SCOPE, min_abstention=1.0, max_wrong=0.0,
             thresholds=[0.4, 0.5], margins=[0.0])


def test_a_declined_question_is_offered_the_entries_near_the_best() -> None:
    assert offered([2.0, 1.7, 1.5], spread=0.4) == 2
    assert offered([2.0, 1.7, 1.5], spread=0.6) == 3
    assert offered([0.1, -0.9], spread=0.0) == 1  # the best is always offered
    assert offered([], spread=0.4) == 0
    assert PARAPHRASES[1].offered(0.01) == ["cost"]
    assert PARAPHRASES[1].offered(0.03) == ["cost", "ship"]


def test_the_report_counts_right_entries_offered_when_declined() -> None:
    # at 0.5 / 0.05 the 2nd and 3rd paraphrases and the 2nd out-of-scope one are declined
    wide = evaluate(PARAPHRASES, OUT_OF_SCOPE, threshold=0.5, margin=0.05)
    assert (wide.offered_right, wide.offered_per_declined) == (0.5, 2.0)
    assert wide.out_of_scope_offered == 2.0
    # the 2nd paraphrase's right entry is 0.02 behind the best, the 2nd out-of-scope's 0.01
    narrow = evaluate(PARAPHRASES, OUT_OF_SCOPE, threshold=0.5, margin=0.05,
                      offer_spread=0.015)
    assert (narrow.offered_right, narrow.offered_per_declined) == (0.25, 1.0)
    assert narrow.out_of_scope_offered == 2.0


def test_the_offer_is_the_narrowest_that_loses_no_more_right_entries_than_allowed() -> None:
    decision = Decision(0.5, 0.05, 0.0)
    sets = [(PARAPHRASES, OUT_OF_SCOPE)]
    spreads = [0.0, 0.01, 0.03, 0.31, 0.5]
    assert tune_offer(sets, decision, spreads=spreads, max_loss=0.0) == 0.03
    assert tune_offer(sets, decision, spreads=spreads, max_loss=0.25) == 0.0
    # every set keeps its share: in a second one the right entry is 0.30 behind
    far = [ranked("care", ("ship", 0.45), ("care", 0.15))]
    assert tune_offer([*sets, (far, [])], decision, spreads=spreads, max_loss=0.0) == 0.31


def test_halves_are_deterministic_disjoint_and_cover_every_entry() -> None:
    items = [Labelled(f"question {i} about {topic}", topic)
             for topic in ("Ship?", "Cost?", "Care?") for i in range(5)]
    tuning, held_out = split_paraphrases(items)
    assert (tuning, held_out) == split_paraphrases(list(reversed(items)))
    assert sorted(tuning + held_out, key=items.index) == items
    for topic in ("Ship?", "Cost?", "Care?"):
        counts = sorted([sum(i.expected == topic for i in tuning),
                         sum(i.expected == topic for i in held_out)])
        assert counts == [2, 3]
    first, second = split_questions([f"oos {i}" for i in range(7)])
    assert (len(first), len(second)) == (4, 3)
    assert set(first).isdisjoint(second)


def test_the_eval_set_may_not_copy_faq_phrasings(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("## Do you ship?\nAlso asked: Shipping abroad?\nYes.\n",
                                   encoding="utf-8")
    entries, _ = check_directory(tmp_path)
    problems = check_eval_set(
        entries,
        [Labelled("shipping ABROAD", "Do you ship?"), Labelled("can you post it", "Ship?"),
         Labelled("can you post it", "Do you ship?")],
        ["do you ship", "weather?"])
    assert problems == [
        "'shipping ABROAD' copies the FAQ phrasing of 'Do you ship?'",
        "'can you post it': no FAQ entry is headed 'Ship?'",
        "'can you post it' is in the evaluation set twice",
        "out-of-scope 'do you ship' is a phrasing of 'Do you ship?'",
    ]


def test_the_shipped_eval_set_is_large_valid_and_independent_of_the_faq() -> None:
    paraphrases = load_paraphrases(REPO / "knowledge/faq_eval/paraphrases.tsv")
    out_of_scope = load_out_of_scope(REPO / "knowledge/faq_eval/out_of_scope.txt")
    entries, problems = check_directory(REPO / "knowledge/faq")
    assert problems == []
    assert len(paraphrases) >= 600 and len(out_of_scope) >= 300
    assert check_eval_set(entries, paraphrases, out_of_scope) == []
    hit = {p.expected for p in paraphrases}
    assert hit == {e.question for e in entries}  # every entry is asked about


def valid_eval_set(directory: Path, paraphrases_file: str = "paraphrases.tsv"
                   ) -> tuple[list[FaqEntry], int, int]:
    """The FAQ in ``directory/faq`` with its paraphrase and out-of-scope counts, once
    checked: files without problems, a valid set, and every entry asked about."""
    paraphrases = load_paraphrases(directory / paraphrases_file)
    out_of_scope = load_out_of_scope(directory / "out_of_scope.txt")
    entries, problems = check_directory(directory / "faq")
    assert problems == []
    assert check_eval_set(entries, paraphrases, out_of_scope) == []
    assert {p.expected for p in paraphrases} == {e.question for e in entries}
    return entries, len(paraphrases), len(out_of_scope)


def test_the_other_trade_faq_is_mostly_question_and_answer_and_fully_asked_about() -> None:
    entries, paraphrases, out_of_scope = valid_eval_set(REPO / "knowledge/faq_eval/bike")
    assert len(entries) >= 60 and paraphrases >= 400 and out_of_scope >= 150
    assert sum(bool(e.also_asked) for e in entries) < len(entries) / 5


def test_the_plain_rewordings_check_asks_every_bike_entry_and_repeats_no_shopper_question(
) -> None:
    bike = REPO / "knowledge/faq_eval/bike"
    entries, count, _ = valid_eval_set(bike, "direct_paraphrases.tsv")
    assert count >= 2 * len(entries)
    direct = {p.question.lower() for p in load_paraphrases(bike / "direct_paraphrases.tsv")}
    shoppers = {p.question.lower() for p in load_paraphrases(bike / "paraphrases.tsv")}
    assert len(direct) == count and direct.isdisjoint(shoppers)


def test_the_community_style_check_faq_is_valid_and_fully_asked_about() -> None:
    entries, paraphrases, out_of_scope = valid_eval_set(
        REPO / "knowledge/faq_eval/climbing")
    assert len(entries) >= 30 and paraphrases >= 90 and out_of_scope >= 40
    assert not any(e.also_asked for e in entries)


def test_a_near_verbatim_question_is_answered_below_the_threshold_and_margin() -> None:
    close = Ranked(question="q", expected="ship", service_ranked=(("ship", 0.9),
                                                                   ("cost", 0.89)),
                   near_verbatim=True)
    assert close.decided(threshold=1.5, margin=0.1) == "ship"
    assert replace(close, near_verbatim=False).decided(threshold=1.5, margin=0.1) is None


def entry(question: str) -> FaqEntry:
    return FaqEntry(question=question, also_asked=(), answer="Yes.", file="a.md", line=1)


def test_the_service_answers_a_near_verbatim_question_only_of_the_closest_entry() -> None:
    ship, cost = entry("Do you ship?"), entry("How much is shipping?")
    near = Candidate(ship, score=1.0, phrasing=NEAR_VERBATIM, context=0.5, lexical=1.0,
                     closest_phrasing=True)
    runner_up = Candidate(cost, score=0.99, phrasing=0.7, context=0.5, lexical=1.0)
    assert decide([near, runner_up], threshold=2.0, margin=0.5) is near
    # not the entry with the closest phrasing, or not close enough: threshold and margin
    for other in (replace(near, closest_phrasing=False),
                  replace(near, phrasing=NEAR_VERBATIM - 0.01)):
        assert decide([other, runner_up], threshold=2.0, margin=0.5) is None
        assert decide([other, runner_up], threshold=0.9, margin=0.0) is other
    assert decide([], threshold=0.0, margin=0.0) is None
    # a near-verbatim question is answered whatever its weakest word; another is not
    assert decide([replace(near, weakest=0.1), runner_up], threshold=2.0, margin=0.5,
                  word_floor=0.35) is not None
    weak = replace(near, closest_phrasing=False, weakest=0.3)
    assert decide([weak, runner_up], threshold=0.9, margin=0.0, word_floor=0.35) is None
    assert decide([weak, runner_up], threshold=0.9, margin=0.0, word_floor=0.3) is weak


def test_a_malformed_paraphrase_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_text("# comment\nok\tHeading\nno tab here\n", encoding="utf-8")
    with pytest.raises(eval_faq.EvalSetError, match=r"p.tsv:3: expected 'question<TAB>heading'"):
        load_paraphrases(path)


def test_the_script_reports_both_halves_on_a_small_set(
        tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]) -> None:
    # given a small FAQ and evaluation set
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "shop.md").write_text(
        "## How much does shipping cost?\nFrom €4.90.\n\n"
        "## How do I care for my leather wallet?\nWipe it with a damp cloth.\n\n"
        "## Can I return an item?\nWithin 30 days.\n", encoding="utf-8")
    paraphrases = tmp_path / "p.tsv"
    paraphrases.write_text(
        "what's the postage\tHow much does shipping cost?\n"
        "delivery price to france\tHow much does shipping cost?\n"
        "leather care\tHow do I care for my leather wallet?\n"
        "cleaning a wallet\tHow do I care for my leather wallet?\n"
        "can i send it back\tCan I return an item?\n"
        "returns policy?\tCan I return an item?\n", encoding="utf-8")
    out_of_scope = tmp_path / "o.txt"
    out_of_scope.write_text("what's the weather\nshow me blue mugs\ntell me a joke\n"
                            "who are you\n", encoding="utf-8")
    args = ["--dir", str(faq), "--paraphrases", str(paraphrases),
            "--out-of-scope", str(out_of_scope)]
    # when
    code = eval_faq.main([*args, "--threshold", "0.5", "--margin", "0.05"])
    # then
    out = capsys.readouterr().out
    assert code == 0, out
    assert "threshold 0.50, margin 0.05" in out
    header, *rows = out.splitlines()[2:]
    assert header.split() == ["tuning", "held-out", "all"]
    by_label = {row[:24].strip(): row[24:].split() for row in rows}
    assert by_label["paraphrases"] == ["3", "3", "6"]
    assert by_label["out of scope"] == ["2", "2", "4"]
    for label in ("top-1 accuracy", "answered, correct", "answered, wrong", "abstained",
                  "right entry offered", "correctly abstained"):
        assert all(cell.endswith("%") for cell in by_label[label]), label
    assert "query latency (encoding and ranking, 10 questions): p50 " in out
    # the same set again as a check that is reported but never tuned on
    tuned = eval_faq.main([*args, "--tune"])
    tuned_out = capsys.readouterr().out
    code = eval_faq.main([*args, "--tune", "--check", str(faq), str(paraphrases),
                          str(out_of_scope)])
    checked_out = capsys.readouterr().out
    assert (tuned, code) == (0, 0), checked_out
    assert checked_out.splitlines()[0] == tuned_out.splitlines()[0]  # same threshold
    assert f"entries from {faq} (never tuned on)" in checked_out
    assert checked_out.count("FAQ: 3 entries") == 2
    # the same set through the library function, tuning first
    service = FaqService(directory=faq, embedder_factory=lambda: embedder)
    report = eval_faq.run(service, load_paraphrases(paraphrases),
                          load_out_of_scope(out_of_scope), tune_first=True)
    assert "tuned on the tuning half: threshold" in report


def test_the_script_refuses_an_eval_set_that_copies_the_faq(
        tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shop.md").write_text("## Do you ship?\nYes.\n", encoding="utf-8")
    (tmp_path / "p.tsv").write_text("do you ship\tDo you ship?\n", encoding="utf-8")
    (tmp_path / "o.txt").write_text("weather?\n", encoding="utf-8")
    code = eval_faq.main(["--dir", str(tmp_path), "--paraphrases", str(tmp_path / "p.tsv"),
                          "--out-of-scope", str(tmp_path / "o.txt")])
    assert code == 1
    assert "evaluation set: 'do you ship' copies the FAQ phrasing of 'Do you ship?'" in (
        capsys.readouterr().out)


def test_the_chosen_threshold_still_meets_its_objective_on_the_tuning_half(
        embedder: Embedder) -> None:
    """Fails when the demo FAQ, the scoring or the tokenizer drift from the calibration:
    re-run ``python -m knowledge.eval_faq --tune`` and update the constants."""
    service = FaqService(directory=REPO / "knowledge/faq", embedder_factory=lambda: embedder)
    tuning, _ = split_paraphrases(load_paraphrases(REPO / "knowledge/faq_eval/paraphrases.tsv"))
    tuning_oos, _ = split_questions(load_out_of_scope(
        REPO / "knowledge/faq_eval/out_of_scope.txt"))
    paraphrases = eval_faq.rank_questions(service, [i.question for i in tuning],
                                          [i.expected for i in tuning])
    decision = {"threshold": service.threshold, "margin": service.margin,
                "word_floor": service.word_floor}
    metrics = evaluate(
        paraphrases, eval_faq.rank_questions(service, tuning_oos, [None] * len(tuning_oos)),
        offer_spread=service.offer_spread, **decision)
    every_candidate = evaluate(paraphrases, [], **decision)
    # chosen at 98.1% / 2.0% / 38.6%; the bounds leave room for one or two borderline
    # questions to flip on another CPU, not for a real drift
    assert metrics.out_of_scope_abstained >= 0.97
    assert metrics.answered_wrong <= 0.03
    assert metrics.answered_correct >= 0.37
    # the narrower offer still shows the right entry to all but 1% of the paraphrases
    assert metrics.offered_right >= every_candidate.offered_right - 0.01
    assert metrics.offered_per_declined < 2.7
