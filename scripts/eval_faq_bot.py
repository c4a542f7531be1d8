"""The FAQ as shoppers reach it through the bot: the trained NLU model reads each question
first, and the bot decides from that reading whether to ask the FAQ at all.

    PYTHONPATH=. python scripts/eval_faq_bot.py --readings READINGS.tsv [the arguments
                                                of python -m knowledge.eval_faq]

``scripts/eval_faq.sh`` (``make eval-faq``) writes the readings with the trained model
(``scripts/nlu_readings.py``, in Rasa's venv: ``text<TAB>intent<TAB>confidence``, the
intent after the fallback classifier, as ``POST /model/parse`` gives it) and runs this.
It lives outside the packages because it reads both the knowledge service
(``knowledge.eval_faq``) and the bot's routing (``actions.faq_routing``). It prints the report of
``knowledge.eval_faq`` (the FAQ asked every question), then the
same halves through the bot:

- **reached**: the share of the paraphrases the bot puts to the FAQ given the NLU's
  reading (``actions.faq_routing.reaches_faq``, each asked at the start of a conversation);
- **answered right / wrong**: the share of all paraphrases answered from the FAQ with the
  right entry or another one. A paraphrase the bot does not put to the FAQ is not
  answered from it (it gets a search, an order's flow, a clarifying question...);
- **out-of-scope declined**: the share of the out-of-scope questions not answered from the
  FAQ, whether the NLU sent them elsewhere (a product search, an order's status: their
  own business) or the FAQ declined them.

A question put to the FAQ is decided by the routed decision
(``knowledge.faq_service.ROUTED_THRESHOLD`` and the rest) when the NLU read it as the
``faq`` intent with at least ``ROUTED_CONFIDENCE``, and by the FAQ's own decision
otherwise, as ``FaqService.answer`` does. With ``--tune`` the FAQ's own decision is tuned
first (``knowledge.eval_faq``), then the routed one under the same objective on the same
tuning halves, through the bot, with the FAQ's own decision fixed.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actions.faq_routing import reaches_faq
from knowledge.eval_faq import (
    MARGINS,
    MAX_WRONG_ANSWERS,
    MIN_OUT_OF_SCOPE_ABSTENTION,
    THRESHOLDS,
    WORD_FLOORS,
    Decision,
    EvalSetError,
    Halves,
    Ranked,
    RankedSets,
    answered_on_grid,
    best_on_grid,
    choose,
    parser,
    prepare,
    report_sets,
    top_is_right,
)
from knowledge.faq_service import (
    ROUTED_CONFIDENCE,
    ROUTED_MARGIN,
    ROUTED_THRESHOLD,
    ROUTED_WORD_FLOOR,
    is_routed,
)

ROUTED_DECISION = Decision(ROUTED_THRESHOLD, ROUTED_MARGIN, ROUTED_WORD_FLOOR)


@dataclass(frozen=True)
class Reading:
    """The NLU's reading of a message: its intent (after the fallback) and confidence."""

    intent: str
    confidence: float

    @property
    def routed(self) -> bool:
        """Whether the FAQ applies the routed decision to the message."""
        return is_routed(self.confidence if self.intent == "faq" else None)


Readings = Mapping[str, Reading]


def load_readings(path: Path) -> dict[str, Reading]:
    """``text<TAB>intent<TAB>confidence`` rows under a header row."""
    readings: dict[str, Reading] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["text", "intent", "confidence"]:
        raise EvalSetError(f"{path}: the first row must be text, intent, confidence")
    for number, line in enumerate(lines[1:], start=2):
        try:
            text, intent, confidence = line.split("\t")
            readings[text] = Reading(intent, float(confidence))
        except ValueError:
            raise EvalSetError(f"{path}:{number}: expected text, intent and a confidence "
                               "separated by tabs") from None
    return readings


def reading_of(readings: Readings, question: str) -> Reading:
    try:
        return readings[question]
    except KeyError:
        raise EvalSetError(f"no NLU reading of {question!r}: the readings were made for "
                           "other questions") from None


def bot_answer(ranked: Ranked, reading: Reading, own: Decision,
               routed: Decision) -> str | None:
    """The heading the bot answers the question with from the FAQ, or None."""
    if not reaches_faq(reading.intent, ranked.question):
        return None
    decision = routed if reading.routed else own
    return ranked.decided(decision.threshold, decision.margin, decision.word_floor)


@dataclass(frozen=True)
class BotMetrics:
    paraphrases: int
    reached: float
    answered_correct: float
    answered_wrong: float
    out_of_scope: int
    out_of_scope_declined: float


def evaluate_bot(paraphrases: Sequence[Ranked], out_of_scope: Sequence[Ranked],
                 readings: Readings, *, own: Decision, routed: Decision) -> BotMetrics:
    def share(count: int, total: int) -> float:
        return count / total if total else 0.0

    answers = [bot_answer(r, reading_of(readings, r.question), own, routed)
               for r in paraphrases]
    right = sum(a is not None and a == r.expected for a, r in zip(answers, paraphrases,
                                                                  strict=True))
    answered = sum(a is not None for a in answers)
    reached = sum(reaches_faq(reading_of(readings, r.question).intent, r.question)
                  for r in paraphrases)
    declined = sum(bot_answer(r, reading_of(readings, r.question), own, routed) is None
                   for r in out_of_scope)
    n = len(paraphrases)
    return BotMetrics(n, share(reached, n), share(right, n), share(answered - right, n),
                      len(out_of_scope), share(declined, len(out_of_scope)))


def answered_through_bot(ranked: Sequence[Ranked], readings: Readings, own: Decision,
                         grid: Sequence[np.ndarray]) -> np.ndarray:
    """Whether each question is answered through the bot, for every point of the routed
    decision's ``grid`` (``knowledge.eval_faq.answered_on_grid``'s axes)."""
    found = [reading_of(readings, r.question) for r in ranked]
    reached = np.array([reaches_faq(f.intent, r.question) for f, r in zip(found, ranked,
                                                                            strict=True)],
                       dtype=bool)
    routed = np.array([f.routed for f in found], dtype=bool)
    alone = np.array([r.decided(own.threshold, own.margin, own.word_floor) is not None
                      for r in ranked], dtype=bool)
    return reached & np.where(routed, answered_on_grid(ranked, *grid), alone)


def tune_routed(sets: Sequence[tuple[Sequence[Ranked], Sequence[Ranked]]],
                readings: Readings, own: Decision, *,
                thresholds: Sequence[float] = THRESHOLDS, margins: Sequence[float] = MARGINS,
                word_floors: Sequence[float] = WORD_FLOORS,
                min_abstention: float = MIN_OUT_OF_SCOPE_ABSTENTION,
                max_wrong: float = MAX_WRONG_ANSWERS) -> Decision:
    """The routed decision that, through the bot and with the FAQ's own decision ``own``,
    meets the constraints on every set with the most right answers
    (``knowledge.eval_faq.best_on_grid``)."""
    grid = [np.asarray(values, dtype=float) for values in (thresholds, margins, word_floors)]
    return best_on_grid(grid, [(answered_through_bot(p, readings, own, grid), top_is_right(p),
                                answered_through_bot(o, readings, own, grid))
                               for p, o in sets],
                        min_abstention=min_abstention, max_wrong=max_wrong)


def format_bot_report(halves: Halves, readings: Readings, *, own: Decision,
                      routed: Decision) -> str:
    rows = [f"{'half':<10}{'paraphrases':>12}{'reached':>9}{'right':>8}{'wrong':>8}"
            f"{'out-of-scope':>14}{'declined':>10}"]
    named = {**halves, "all": (halves["tuning"][0] + halves["held-out"][0],
                               halves["tuning"][1] + halves["held-out"][1])}
    for name, (paraphrases, out_of_scope) in named.items():
        m = evaluate_bot(paraphrases, out_of_scope, readings, own=own, routed=routed)
        rows.append(f"{name:<10}{m.paraphrases:>12}{m.reached:>9.1%}"
                    f"{m.answered_correct:>8.1%}{m.answered_wrong:>8.1%}"
                    f"{m.out_of_scope:>14}{m.out_of_scope_declined:>10.1%}")
    return "\n".join(rows)


def bot_report(ranked: RankedSets, readings: Readings, *, own: Decision, routed: Decision,
               tuned: bool) -> str:
    head = "tuned through the bot on the tuning halves: " if tuned else ""
    reports = [f"THROUGH THE BOT (the trained NLU reads each question first)\n{head}"
               f"routed decision (NLU read it as a FAQ question, confidence >= "
               f"{ROUTED_CONFIDENCE:.2f}): threshold {routed.threshold:.2f}, margin "
               f"{routed.margin:.2f}, word floor {routed.word_floor:.2f}"]
    for number, (service, halves) in enumerate(zip(ranked.services, ranked.halves,
                                                   strict=True)):
        never = " (never tuned on)" if number >= len(ranked.halves) - ranked.checks else ""
        reports.append(f"FAQ: {service.directory}{never}\n"
                       + format_bot_report(halves, readings, own=own, routed=routed))
    return "\n".join(reports)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    arguments = parser("scripts/eval_faq_bot.py")
    arguments.add_argument("--readings", type=Path, required=True,
                           help="the trained NLU model's readings of every question "
                                "(scripts/nlu_readings.py)")
    args = arguments.parse_args(argv)
    out = sys.stdout
    try:
        readings = load_readings(args.readings)
    except (OSError, UnicodeDecodeError, EvalSetError) as exc:
        out.write(f"cannot read the NLU readings: {exc}\n")
        return 2
    prepared = prepare(args, out)
    if isinstance(prepared, int):
        return prepared
    every, checks = prepared
    ranked = RankedSets.of(every[:len(every) - checks], every[len(every) - checks:])
    try:
        own = choose(ranked, Decision(args.threshold, args.margin, args.word_floor,
                                      args.offer_spread), tune_first=args.tune)
        routed = (tune_routed(ranked.tuned_on, readings, own) if args.tune
                  else ROUTED_DECISION)
        out.write(report_sets(ranked, own, tuned=args.tune) + "\n\n")
        out.write(bot_report(ranked, readings, own=own, routed=routed, tuned=args.tune)
                  + "\n")
    except EvalSetError as exc:
        out.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
