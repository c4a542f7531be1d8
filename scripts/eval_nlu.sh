#!/usr/bin/env bash
# Score the trained Rasa model on a labelled NLU set as the served bot decides (fallback
# included): accuracy, macro F1, per-intent table, out-of-scope false-accept rate, top
# confusions (see scripts/eval_nlu.py).
# Usage: scripts/eval_nlu.sh [SET [MODEL [OUT]]] [-- extra arguments]
# Empty ones default to bot/nlu_eval/realistic.yml, the model trained from this checkout
# (trained first if needed) and no predictions file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

set_file="${1:-$ROOT/bot/nlu_eval/realistic.yml}"
model="${2:-}"
out="${3:-}"
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
[ -f "$set_file" ] || die "no such set: $set_file"

if [ -z "$model" ]; then
  bash "$ROOT/scripts/setup.sh" model
  model="$(model_dir)/model.tar.gz"
else
  bash "$ROOT/scripts/setup.sh" venvs
fi
[ -f "$model" ] || die "no such model: $model"

"$(venv_rasa)/bin/python" "$ROOT/scripts/eval_nlu.py" --set "$set_file" --model "$model" \
  ${out:+--out "$out"} "$@"
