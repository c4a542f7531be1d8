"""The realistic NLU set (bot/nlu_eval/realistic.yml) and its evaluator (``make eval-nlu``).

The set must stay large, free of repeats and independent of the training data and of the
held-out set; so must the development set the pipeline is tuned on (bot/nlu_eval/dev.yml).
The evaluator's figures are checked on hand-made predictions whose figures are worked out
by hand, and its predictions against what the served bot (``rasa run``,
ATELIER_TEST_RASA_MODEL) answers. The served model's figures on the set are held to the
floors below; only the figures are reported on failure, never the messages (the set is
judged unseen).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.bot.test_nlu import parse  # noqa: F401 - the served model, started once here

REPO = Path(__file__).resolve().parents[2]
REALISTIC = REPO / "bot" / "nlu_eval" / "realistic.yml"
HELDOUT = REPO / "bot" / "nlu_eval" / "heldout.yml"
DEV = REPO / "bot" / "nlu_eval" / "dev.yml"
# Served figures of the chosen pipeline (bot/config.yml) on the realistic set: in-scope
# accuracy 0.942, out-of-scope false-accept 7.4% (goals >= 0.92 and <= 10%); with the
# ask_recommendation intent and its 19 messages (one relabelled from search_product),
# 0.937 and 6.9%. On another CPU (AVX2 only, no AVX-512), the same code, pins and data give
# 0.929 and 6.6% (see tests/bot/test_nlu.py): the floor is the goal.
MIN_IN_SCOPE_ACCURACY = 0.92
MAX_FALSE_ACCEPT_RATE = 0.10


def _load_evaluator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_nlu", REPO / "scripts" / "eval_nlu.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


evaluator = _load_evaluator()


def _normalise(text: str) -> str:
    """Lower case, punctuation dropped: the form in which two messages count as one."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_realistic_set_is_large_and_labels_every_intent_of_the_contract() -> None:
    # given the set and the intent contract
    examples = evaluator.read_set(REALISTIC)
    contract = set(yaml.safe_load((REPO / "bot" / "domain" / "base.yml").read_text())["intents"])
    typed = contract - {"nlu_fallback", "handback"}
    # when the labels are counted
    counts = Counter(label for _, label in examples)
    # then there are enough in-scope and out-of-scope messages, every typed intent has at
    # least 15, and no label is outside what a shopper can type
    assert sum(n for label, n in counts.items() if label != "out_of_scope") >= 1000, counts
    assert counts["out_of_scope"] >= 300, counts
    assert set(counts) <= typed, set(counts) - typed
    assert {i: counts[i] for i in typed if counts[i] < 15} == {}


def test_realistic_messages_are_unique_and_in_neither_heldout_nor_training_data() -> None:
    realistic = [_normalise(text) for text, _ in evaluator.read_set(REALISTIC)]
    repeated = sorted(text for text, n in Counter(realistic).items() if n > 1)
    heldout = {_normalise(text) for text, _ in evaluator.read_set(HELDOUT)}
    trained = {_normalise(text) for path in sorted((REPO / "nlu_data").rglob("*.yml"))
               for text, _ in evaluator.read_set(path)}
    assert len(trained) > 500, "the training data was not found"
    assert repeated == []
    assert sorted(set(realistic) & heldout) == []
    assert sorted(set(realistic) & trained) == []


def test_development_set_is_large_and_never_trained_on() -> None:
    # given the development set and every training line
    dev = [(_normalise(text), label) for text, label in evaluator.read_set(DEV)]
    trained = {_normalise(text) for path in sorted((REPO / "nlu_data").rglob("*.yml"))
               for text, _ in evaluator.read_set(path)}
    outside = sum(label == "out_of_scope" for _, label in dev)
    # then it is large enough to tune on, in and out of scope, and none of it is trained on
    assert len(dev) - outside >= 300 and outside >= 100, (len(dev), outside)
    assert sorted({text for text, _ in dev} & trained) == []


def test_served_model_understands_the_realistic_set(parse) -> None:  # noqa: F811
    # given the realistic messages, none of them trained on
    examples = evaluator.read_set(REALISTIC)
    # when the served model parses each of them (nlu_fallback included)
    predictions = [evaluator.Prediction(text, label, parse(text)["intent"]["name"] or
                                        evaluator.FALLBACK) for text, label in examples]
    scores = evaluator.score(predictions, top=0)
    # then in-scope messages are understood and everyday questions are not acted on
    figures = (f"in-scope accuracy {scores.in_scope_accuracy:.3f}, false-accept rate "
               f"{scores.false_accept_rate:.3f} (make eval-nlu for the per-intent table)")
    assert scores.in_scope_accuracy >= MIN_IN_SCOPE_ACCURACY, figures
    assert scores.false_accept_rate <= MAX_FALSE_ACCEPT_RATE, figures


def _fixed_predictions() -> list:
    P = evaluator.Prediction
    return [
        P("where is my parcel", "order_status", "order_status", 0.9),
        P("wheres my order", "order_status", "faq", 0.5),
        P("how much is shipping", "faq", "faq", 0.8),
        P("do you ship to norway", "faq", "nlu_fallback", 0.2),
        P("cancel my order", "cancel_order", "cancel_order", 0.9),
        P("weather tomorrow", "out_of_scope", "out_of_scope", 0.7),
        P("transfer money to savings", "out_of_scope", "faq", 0.4),
        P("track my uber", "out_of_scope", "order_status", 0.6),
        P("tell me a joke", "out_of_scope", "nlu_fallback", 0.25),
        P("who are you", "out_of_scope", "bot_challenge", 0.6),
        P("what's 2 + 2", "out_of_scope", "faq", 0.35),
    ]


def test_scores_of_hand_made_predictions_are_the_figures_worked_out_by_hand() -> None:
    # given 11 predictions: 4 right; 5 in scope (3 right, 1 fallback); 6 out of scope, of
    # which 3 became an action intent (faq twice, order_status), 1 nlu_fallback, 1 small talk
    predictions = _fixed_predictions()
    # when they are scored
    scores = evaluator.score(predictions, top=3, examples_per_pair=1)
    # then every figure is the one computed by hand
    assert scores.total == 11
    assert scores.accuracy == pytest.approx(4 / 11)
    figures = {f.intent: (f.support, f.predicted, f.precision, f.recall, f.f1)
               for f in scores.per_intent}
    assert figures == {
        "cancel_order": (1, 1, 1.0, 1.0, 1.0),
        "faq": (2, 4, 0.25, 0.5, pytest.approx(1 / 3)),
        "order_status": (2, 2, 0.5, 0.5, 0.5),
        "out_of_scope": (6, 1, 1.0, pytest.approx(1 / 6), pytest.approx(2 / 7)),
    }
    assert scores.macro_f1 == pytest.approx((1 + 1 / 3 + 0.5 + 2 / 7) / 4)
    assert (scores.in_scope, scores.in_scope_accuracy, scores.in_scope_fallbacks) == (5, 0.6, 1)
    assert (scores.out_of_scope, scores.false_accepts, scores.false_accept_rate,
            scores.out_of_scope_declined) == (6, 3, 0.5, 2)
    # the most frequent confusion first, then ties by label and prediction
    assert [(c.label, c.predicted, c.count, c.examples) for c in scores.confusions] == [
        ("out_of_scope", "faq", 2, ("transfer money to savings",)),
        ("faq", "nlu_fallback", 1, ("do you ship to norway",)),
        ("order_status", "faq", 1, ("wheres my order",)),
    ]
    report = evaluator.render(scores, title="tiny")
    assert "intent accuracy       0.364" in report
    assert "macro F1              0.530" in report
    assert "out-of-scope false-accept rate  50.0%   3 of the 6 messages" in report


def test_false_accepts_are_exactly_the_shopping_and_order_actions() -> None:
    # given one out-of-scope message predicted as each intent a shopper can type
    contract = yaml.safe_load((REPO / "bot" / "domain" / "base.yml").read_text())["intents"]
    predicted = [i for i in contract if i != "handback"]
    predictions = [evaluator.Prediction(f"m{n}", "out_of_scope", intent)
                   for n, intent in enumerate(predicted)]
    # when scored, the false accepts are the 16 action intents and nothing else
    accepted = {p.predicted for p in predictions
                if evaluator.score([p]).false_accepts == 1}
    assert accepted == {
        "search_product", "ask_recommendation", "refine_search", "product_details",
        "customize_product", "add_to_cart", "remove_from_cart", "change_quantity",
        "view_cart", "checkout", "order_status", "cancel_order", "request_refund",
        "change_shipping_address", "inform", "faq"}
    assert evaluator.score(predictions).false_accepts == 16


def test_the_evaluator_predicts_what_the_served_bot_decides(parse, tmp_path: Path) -> None:  # noqa: F811
    # given a small set in the same format, entity annotations included
    tiny = tmp_path / "tiny.yml"
    tiny.write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: order_status\n    examples: |\n"
        "      - where is my order [AT-7K2M9Q](order_number)?\n"
        "      - wher is my ordr 448120993817\n"
        "  - intent: greet\n    examples: |\n      - hello there\n"
        "  - intent: out_of_scope\n    examples: |\n"
        "      - what's the capital of france\n      - transfer money to my savings\n"
        "      - zxqv blorp\n", encoding="utf-8")
    out = tmp_path / "predictions.tsv"
    rasa_python = Path(os.environ["ATELIER_TEST_RASA_BIN"]).with_name("python")
    # when the evaluator runs the trained model on it in Rasa's venv
    result = subprocess.run(
        [str(rasa_python), str(REPO / "scripts" / "eval_nlu.py"), "--set", str(tiny),
         "--model", os.environ["ATELIER_TEST_RASA_MODEL"], "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with out.open(encoding="utf-8") as rows:
        predicted = list(csv.DictReader(rows, delimiter="\t"))
    # then each prediction is the served model's, fallback included, and the printed
    # figures are those of these predictions
    assert [row["text"] for row in predicted] == [
        "where is my order AT-7K2M9Q?", "wher is my ordr 448120993817", "hello there",
        "what's the capital of france", "transfer money to my savings", "zxqv blorp"]
    for row in predicted:
        served = parse(row["text"])["intent"]
        assert (row["predicted"], float(row["confidence"])) == (
            served["name"], pytest.approx(served["confidence"], abs=1e-4)), row
        assert row["correct"] == str(int(row["predicted"] == row["label"]))
    right = sum(row["correct"] == "1" for row in predicted)
    accepted = sum(row["predicted"] in evaluator.ACTION_INTENTS for row in predicted[3:])
    assert f"intent accuracy       {right / 6:.3f}" in result.stdout, result.stdout
    assert f"false-accept rate  {accepted / 3:.1%}   {accepted} of the 3" in result.stdout
