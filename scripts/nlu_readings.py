"""The trained NLU model's reading of every question of FAQ evaluation sets.

    python scripts/nlu_readings.py --model model.tar.gz --out readings.tsv FILE...

Runs in Rasa's Python 3.10 venv (``scripts/eval_faq.sh`` / ``make eval-faq`` run it). Each
FILE is a paraphrase set (``question<TAB>heading``) or an out-of-scope set (a question per
line); blank lines and lines starting with ``#`` are skipped, as ``knowledge.eval_faq``
reads them. Each question goes through ``Agent.parse_message`` (``scripts/eval_nlu.py``),
fallback included, and is written once as ``text<TAB>intent<TAB>confidence`` under a
header row: what ``scripts/eval_faq_bot.py`` reads.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_nlu import Prediction, predict  # noqa: E402 - the script's own folder, put first


def questions(paths: Iterable[Path]) -> list[str]:
    """Every question of the files once, in order."""
    found: dict[str, None] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip() and not line.lstrip().startswith("#"):
                found.setdefault(line.partition("\t")[0].strip(), None)
    return [q for q in found if q]


def write_readings(predictions: Sequence[Prediction], out: Path) -> None:
    """One row per question; a question is one line of a file, so it holds no tab."""
    rows = ["text\tintent\tconfidence", *(f"{p.text}\t{p.predicted}\t{p.confidence:.4f}"
                                         for p in predictions)]
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="trained model .tar.gz")
    parser.add_argument("--out", required=True, type=Path, help="readings TSV to write")
    parser.add_argument("files", nargs="+", type=Path, help="evaluation sets")
    args = parser.parse_args(argv)
    for path in (args.model, *args.files):
        if not path.is_file():
            parser.error(f"no such file: {path}")
    asked = questions(args.files)
    write_readings(predict(args.model, [(q, "") for q in asked]), args.out)
    sys.stdout.write(f"{len(asked)} questions read by {args.model} into {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
