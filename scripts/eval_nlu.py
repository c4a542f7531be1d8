"""Score the trained Rasa model on a labelled NLU set, as the served bot decides.

    python scripts/eval_nlu.py --set bot/nlu_eval/realistic.yml --model model.tar.gz \\
        [--out predictions.tsv]

Runs in Rasa's Python 3.10 venv (``scripts/eval_nlu.sh`` / ``make eval-nlu`` pick it).
The model is loaded once in this process and each message goes through
``Agent.parse_message`` — the call behind ``POST /model/parse`` and the first step of every
message the running bot handles —, so the FallbackClassifier is included: a message it
turns into ``nlu_fallback`` is wrong for an in-scope label and "not accepted" for an
out-of-scope one.

The set is Rasa NLU YAML (``nlu:`` blocks of ``intent`` and ``examples``); entity
annotations ``[text](entity)`` are reduced to their text. The figures:

- intent accuracy: share of all messages whose predicted intent equals the label;
- macro F1: unweighted mean of the per-intent F1 over the intents labelled in the set
  (precision of an intent never predicted is 0);
- in-scope accuracy: the same accuracy over the messages not labelled ``out_of_scope``;
- out-of-scope false-accept rate: share of the messages labelled ``out_of_scope`` that
  are predicted as a shopping or order action (``ACTION_INTENTS``), i.e. that the bot
  would act on; ``out_of_scope``, ``nlu_fallback``, small talk and ``request_human`` are
  not accepting;
- top confusion pairs (label → prediction) by count, with example messages.

This module imports Rasa only to predict, so its scoring runs (and is tested) anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import re
import sys
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
# What an out-of-scope message must not become: an intent the bot acts on for shopping or
# an order (a search, the cart, an after-sale change, an FAQ answer, a form value).
ACTION_INTENTS = frozenset({
    "search_product", "ask_recommendation", "refine_search", "product_details",
    "customize_product", "add_to_cart",
    "remove_from_cart", "change_quantity", "view_cart", "checkout", "order_status",
    "cancel_order", "request_refund", "change_shipping_address", "inform", "faq",
})
BOT_DIR = Path(__file__).resolve().parents[1] / "bot"
"""Where the pipeline's own components live (``atelier_nlu``), as ``rasa run`` finds them."""
ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\([^)]+\)|\{[^}]*\})")


@dataclass(frozen=True)
class Prediction:
    text: str
    label: str
    predicted: str
    confidence: float = 0.0

    @property
    def correct(self) -> bool:
        return self.predicted == self.label


@dataclass(frozen=True)
class IntentFigures:
    intent: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Confusion:
    label: str
    predicted: str
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Scores:
    total: int
    accuracy: float
    macro_f1: float
    per_intent: tuple[IntentFigures, ...]
    in_scope: int
    in_scope_accuracy: float
    in_scope_fallbacks: int
    out_of_scope: int
    false_accepts: int
    false_accept_rate: float
    out_of_scope_declined: int
    confusions: tuple[Confusion, ...]


def read_set(path: Path) -> list[tuple[str, str]]:
    """(text, intent) of every example of a Rasa NLU YAML file, annotations removed."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in str(block.get("examples", "")).splitlines():
            raw = line.strip()
            if raw.startswith("- "):
                text = ANNOTATION.sub(lambda m: m["text"], raw[2:].strip())
                if text:
                    examples.append((text, str(block["intent"])))
    return examples


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def score(predictions: Sequence[Prediction], *, top: int = 15,
          examples_per_pair: int = 3) -> Scores:
    """All figures of one evaluation (definitions in the module docstring)."""
    labels = sorted({p.label for p in predictions})
    support = Counter(p.label for p in predictions)
    predicted = Counter(p.predicted for p in predictions)
    hits = Counter(p.label for p in predictions if p.correct)
    per_intent = []
    for intent in labels:
        precision = _ratio(hits[intent], predicted[intent])
        recall = _ratio(hits[intent], support[intent])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent.append(IntentFigures(intent, support[intent], predicted[intent], precision,
                                        recall, f1))
    in_scope = [p for p in predictions if p.label != OUT_OF_SCOPE]
    outside = [p for p in predictions if p.label == OUT_OF_SCOPE]
    false_accepts = sum(p.predicted in ACTION_INTENTS for p in outside)
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in predictions:
        if not p.correct:
            pairs[(p.label, p.predicted)].append(p.text)
    ranked = sorted(pairs.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    return Scores(
        total=len(predictions),
        accuracy=_ratio(sum(hits.values()), len(predictions)),
        macro_f1=_ratio(sum(f.f1 for f in per_intent), len(per_intent)),
        per_intent=tuple(per_intent),
        in_scope=len(in_scope),
        in_scope_accuracy=_ratio(sum(p.correct for p in in_scope), len(in_scope)),
        in_scope_fallbacks=sum(p.predicted == FALLBACK for p in in_scope),
        out_of_scope=len(outside),
        false_accepts=false_accepts,
        false_accept_rate=_ratio(false_accepts, len(outside)),
        out_of_scope_declined=sum(p.predicted in (OUT_OF_SCOPE, FALLBACK) for p in outside),
        confusions=tuple(Confusion(label, guess, len(texts), tuple(texts[:examples_per_pair]))
                         for (label, guess), texts in ranked))


def render(scores: Scores, *, title: str) -> str:
    """The report printed by ``make eval-nlu``."""
    width = max([len(f.intent) for f in scores.per_intent] + [12])
    lines = [
        title, "",
        f"intent accuracy       {scores.accuracy:.3f}   predicted intent = label, over all "
        f"{scores.total} messages (nlu_fallback is wrong)",
        f"macro F1              {scores.macro_f1:.3f}   unweighted mean of the F1 of the "
        f"{len(scores.per_intent)} intents labelled in the set",
        f"in-scope accuracy     {scores.in_scope_accuracy:.3f}   over the {scores.in_scope} "
        f"messages not labelled out_of_scope; {scores.in_scope_fallbacks} of them "
        f"({_ratio(scores.in_scope_fallbacks, scores.in_scope):.1%}) became nlu_fallback",
        f"out-of-scope false-accept rate  {scores.false_accept_rate:.1%}   "
        f"{scores.false_accepts} of the {scores.out_of_scope} messages labelled out_of_scope "
        "were predicted as a shopping or order action:",
        "    " + ", ".join(sorted(ACTION_INTENTS)),
        f"out-of-scope declined {_ratio(scores.out_of_scope_declined, scores.out_of_scope):.1%}"
        f"   predicted out_of_scope or nlu_fallback ({scores.out_of_scope_declined} of "
        f"{scores.out_of_scope})",
        "",
        f"{'intent':<{width}}  support  predicted  precision  recall     f1",
    ]
    lines += [f"{f.intent:<{width}}  {f.support:>7}  {f.predicted:>9}  {f.precision:>9.3f}  "
              f"{f.recall:>6.3f}  {f.f1:>5.3f}" for f in scores.per_intent]
    lines += ["", "top confusions (label -> prediction: count, examples)"]
    for c in scores.confusions:
        lines.append(f"{c.count:>4}  {c.label} -> {c.predicted}")
        lines += [f"        {text!r}" for text in c.examples]
    if not scores.confusions:
        lines.append("    none")
    return "\n".join(lines) + "\n"


def write_tsv(path: Path, predictions: Iterable[Prediction]) -> None:
    """One row per message: text, label, predicted, confidence, correct (1/0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n",
                            quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["text", "label", "predicted", "confidence", "correct"])
        for p in predictions:
            writer.writerow([" ".join(p.text.split()), p.label, p.predicted,
                             f"{p.confidence:.4f}", int(p.correct)])


def predict(model: Path, examples: Sequence[tuple[str, str]]) -> list[Prediction]:
    """Parse every text with the model, fallback classifier included."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # Rasa's pinned libraries warn about their own deprecations while loading (and re-enable
    # such warnings themselves): not ours to act on, so only other warnings are shown.
    show = warnings.showwarning

    def show_unless_deprecation(message: Warning | str, category: type[Warning], *args: Any,
                                **kwargs: Any) -> None:
        if not issubclass(category, DeprecationWarning):
            show(message, category, *args, **kwargs)

    warnings.showwarning = show_unless_deprecation
    if str(BOT_DIR) not in sys.path:
        sys.path.insert(0, str(BOT_DIR))
    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.ERROR)
    configure_structlog(logging.ERROR)
    agent = Agent.load(str(model))

    async def parse_all() -> list[Prediction]:
        out = []
        for text, label in examples:
            intent = (await agent.parse_message(text))["intent"]
            out.append(Prediction(text, label, intent.get("name") or FALLBACK,
                                  float(intent.get("confidence") or 0.0)))
        return out

    return asyncio.run(parse_all())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", required=True, type=Path, help="Rasa NLU YAML file")
    parser.add_argument("--model", required=True, type=Path, help="trained model .tar.gz")
    parser.add_argument("--out", type=Path, help="write per-message predictions as TSV")
    parser.add_argument("--top", type=int, default=15, help="confusion pairs to show")
    args = parser.parse_args(argv)
    for path in (args.set, args.model):
        if not path.is_file():
            parser.error(f"no such file: {path}")
    examples = read_set(args.set)
    if not examples:
        parser.error(f"no intent examples in {args.set}")
    predictions = predict(args.model, examples)
    scores = score(predictions, top=args.top)
    sys.stdout.write(render(scores, title=f"NLU evaluation of {args.model} on {args.set}: "
                            f"{scores.total} messages ({scores.in_scope} in scope, "
                            f"{scores.out_of_scope} out of scope)"))
    if args.out:
        write_tsv(args.out, predictions)
        sys.stdout.write(f"\npredictions written to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
