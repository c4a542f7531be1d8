#!/usr/bin/env bash
# Score the FAQ on a labelled set: answered right / wrong / declined per half (tuning and
# held-out), see knowledge/eval_faq.py. With no arguments: the demo FAQ and, for
# generalisation, the bike workshop's FAQ of knowledge/faq_eval/bike (both tuned on with
# --tune) and the climbing wall's community FAQ of knowledge/faq_eval/climbing (never).
# Usage: scripts/eval_faq.sh [DIR [PARAPHRASES [OUT_OF_SCOPE]]] [-- extra arguments, e.g. --tune]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="${1:-}"
paraphrases="${2:-}"
out_of_scope="${3:-}"
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
args=()
if [ -z "$dir$paraphrases$out_of_scope" ]; then
  bike="$ROOT/knowledge/faq_eval/bike"
  climbing="$ROOT/knowledge/faq_eval/climbing"
  args=(--also "$bike/faq" "$bike/paraphrases.tsv" "$bike/out_of_scope.txt"
        --check "$climbing/faq" "$climbing/paraphrases.tsv" "$climbing/out_of_scope.txt")
fi
args=(--dir "${dir:-$ROOT/knowledge/faq}"
      --paraphrases "${paraphrases:-$ROOT/knowledge/faq_eval/paraphrases.tsv}"
      --out-of-scope "${out_of_scope:-$ROOT/knowledge/faq_eval/out_of_scope.txt}" "${args[@]}")

bash "$ROOT/scripts/setup.sh" venvs
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$(venv_app)/bin/python" -m knowledge.eval_faq \
  "${args[@]}" "$@"
