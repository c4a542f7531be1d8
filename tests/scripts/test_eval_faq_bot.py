"""The FAQ scored through the bot (``scripts/eval_faq_bot.py``) and the NLU readings it
reads (``scripts/nlu_readings.py``): the arithmetic on hand-made readings and rankings.
The readings of the real trained model are checked in ``tests/bot/test_faq_through_bot.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from knowledge.eval_faq import Decision, EvalSetError, Ranked

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bot = _load("eval_faq_bot")
readings_script = _load("nlu_readings")
OWN = Decision(threshold=1.0, margin=0.0, word_floor=0.0)
ROUTED = Decision(threshold=0.5, margin=0.0, word_floor=0.0)


def ranked(question: str, expected: str | None, top: str, score: float) -> Ranked:
    return Ranked(question=question, expected=expected,
                  service_ranked=((top, score), ("other", 0.0)))


PARAPHRASES = [
    ranked("do you ship to japan?", "ship", "ship", 1.2),     # faq: answered by its own
    ranked("postage to japan", "ship", "ship", 0.7),          # faq, confident: routed
    ranked("how long is shipping", "ship", "ship", 0.7),      # faq, unsure: own declines
    ranked("my bike squeaks", "care", "care", 1.1),           # out of scope: still asked
    ranked("blue mugs?", "ship", "ship", 1.5),                # a search: never asked
    ranked("can i pick a glaze?", "glaze", "ship", 1.1),      # personalising: wrong entry
]
OUT_OF_SCOPE = [
    ranked("weather tomorrow?", None, "ship", 0.8),           # faq, confident: answered
    ranked("tell me a joke", None, "care", 0.9),              # out of scope, declined
    ranked("show me mugs", None, "ship", 1.4),                # a search: never asked
]
READINGS = {
    "do you ship to japan?": bot.Reading("faq", 0.3),
    "postage to japan": bot.Reading("faq", 0.9),
    "how long is shipping": bot.Reading("faq", 0.4),
    "my bike squeaks": bot.Reading("out_of_scope", 0.8),
    "blue mugs?": bot.Reading("search_product", 0.9),
    "can i pick a glaze?": bot.Reading("customize_product", 0.7),
    "weather tomorrow?": bot.Reading("faq", 0.6),
    "tell me a joke": bot.Reading("out_of_scope", 0.99),
    "show me mugs": bot.Reading("search_product", 0.99),
}


def test_a_question_is_answered_only_where_the_nlus_reading_puts_it_to_the_faq() -> None:
    answers = [bot.bot_answer(r, READINGS[r.question], OWN, ROUTED) for r in PARAPHRASES]
    assert answers == ["ship", "ship", None, "care", None, "ship"]


def test_the_figures_through_the_bot_are_worked_out_by_hand() -> None:
    m = bot.evaluate_bot(PARAPHRASES, OUT_OF_SCOPE, READINGS, own=OWN, routed=ROUTED)
    assert (m.paraphrases, m.out_of_scope) == (6, 3)
    assert m.reached == pytest.approx(5 / 6)
    assert (m.answered_correct, m.answered_wrong) == (pytest.approx(3 / 6),
                                                      pytest.approx(1 / 6))
    assert m.out_of_scope_declined == pytest.approx(2 / 3)


def test_the_routed_decision_is_tuned_through_the_bot_under_the_objective() -> None:
    # the routed threshold must stay above the confident out-of-scope question's 0.8 to
    # decline 98% of them, and may go down to 0.7 otherwise
    every = bot.tune_routed([(PARAPHRASES, OUT_OF_SCOPE[1:])], READINGS, OWN,
                            thresholds=[0.5, 0.7, 0.9], margins=[0.0], word_floors=[0.0],
                            max_wrong=0.2)
    strict = bot.tune_routed([(PARAPHRASES, OUT_OF_SCOPE)], READINGS, OWN,
                             thresholds=[0.5, 0.7, 0.9], margins=[0.0], word_floors=[0.0],
                             max_wrong=0.2)
    assert (every.threshold, strict.threshold) == (0.7, 0.9)


def test_a_question_without_a_reading_is_an_error() -> None:
    with pytest.raises(EvalSetError, match="no NLU reading of 'lost'"):
        bot.evaluate_bot([ranked("lost", "ship", "ship", 1.0)], [], READINGS, own=OWN,
                         routed=ROUTED)


def test_readings_are_written_and_read_back(tmp_path: Path) -> None:
    out = tmp_path / "readings.tsv"
    Prediction = readings_script.Prediction
    readings_script.write_readings([Prediction('say "hi"', "", "greet", 0.91234),
                                    Prediction("where's it", "", "nlu_fallback", 0.3)], out)
    assert bot.load_readings(out) == {'say "hi"': bot.Reading("greet", 0.9123),
                                      "where's it": bot.Reading("nlu_fallback", 0.3)}


@pytest.mark.parametrize(("text", "problem"), [
    ("question\tintent\n", "the first row must be text, intent, confidence"),
    ("text\tintent\tconfidence\nhi\tgreet\n", ":2: expected text, intent and a confidence"),
    ("text\tintent\tconfidence\nhi\tgreet\tsure\n", ":2: expected text, intent and a"),
])
def test_malformed_readings_are_reported_with_their_line(tmp_path: Path, text: str,
                                                         problem: str) -> None:
    path = tmp_path / "readings.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalSetError, match=problem):
        bot.load_readings(path)


def test_the_questions_of_both_kinds_of_set_are_read_once_each(tmp_path: Path) -> None:
    paraphrases = tmp_path / "p.tsv"
    paraphrases.write_text("# comment\nhow much is postage \tHow much?\n\n"
                           "weather?\tHow much?\n", encoding="utf-8")
    out_of_scope = tmp_path / "o.txt"
    out_of_scope.write_text("  # also a comment\nweather?\ntell me a joke\n",
                            encoding="utf-8")
    assert readings_script.questions([paraphrases, out_of_scope]) == [
        "how much is postage", "weather?", "tell me a joke"]


def test_the_script_prints_the_faq_alone_then_through_the_bot(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # given a small FAQ, its evaluation set and readings of every question
    faq = tmp_path / "faq"
    faq.mkdir()
    (faq / "shop.md").write_text(
        "## How much does shipping cost?\nFrom €4.90.\n\n"
        "## Can I return an item?\nWithin 30 days.\n", encoding="utf-8")
    (tmp_path / "p.tsv").write_text(
        "what's the postage\tHow much does shipping cost?\n"
        "delivery price to france\tHow much does shipping cost?\n"
        "can i send it back\tCan I return an item?\n"
        "returns policy?\tCan I return an item?\n", encoding="utf-8")
    (tmp_path / "o.txt").write_text("what's the weather\nshow me blue mugs\n",
                                    encoding="utf-8")
    (tmp_path / "r.tsv").write_text(
        "text\tintent\tconfidence\nwhat's the postage\tfaq\t0.9\n"
        "delivery price to france\tsearch_product\t0.6\ncan i send it back\tfaq\t0.8\n"
        "returns policy?\tnlu_fallback\t0.3\nwhat's the weather\tout_of_scope\t0.99\n"
        "show me blue mugs\tsearch_product\t0.97\n", encoding="utf-8")
    # when
    code = bot.main(["--readings", str(tmp_path / "r.tsv"), "--dir", str(faq),
                     "--paraphrases", str(tmp_path / "p.tsv"),
                     "--out-of-scope", str(tmp_path / "o.txt")])
    # then
    out = capsys.readouterr().out
    assert code == 0, out
    alone, through = out.split("THROUGH THE BOT")
    assert "answered, correct" in alone
    header, *rows = through.splitlines()[3:]
    assert header.split() == ["half", "paraphrases", "reached", "right", "wrong",
                              "out-of-scope", "declined"]
    by_half = {row.split()[0]: row.split()[1:] for row in rows}
    assert by_half["all"][:2] == ["4", "75.0%"]  # the search is never put to the FAQ
    assert by_half["all"][4:] == ["2", "100.0%"]
    # readings made for other questions are refused
    (tmp_path / "r.tsv").write_text("text\tintent\tconfidence\nhello\tgreet\t0.9\n",
                                    encoding="utf-8")
    assert bot.main(["--readings", str(tmp_path / "r.tsv"), "--dir", str(faq),
                     "--paraphrases", str(tmp_path / "p.tsv"),
                     "--out-of-scope", str(tmp_path / "o.txt")]) == 1
    assert "no NLU reading of" in capsys.readouterr().out
