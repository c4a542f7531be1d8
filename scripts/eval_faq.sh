#!/usr/bin/env bash
# Score the FAQ on a labelled set: answered right / wrong / declined per half (tuning and
# held-out), asked directly (knowledge/eval_faq.py) and through the bot, the trained NLU
# model reading each question first (scripts/eval_faq_bot.py; the model is trained first
# if needed). With no arguments: the demo FAQ and, for generalisation, the bike workshop's
# FAQ of knowledge/faq_eval/bike (both tuned on with --tune), and as checks never tuned on
# the climbing wall's community FAQ of knowledge/faq_eval/climbing and plain rewordings of
# the bike FAQ's questions (bike/direct_paraphrases.tsv).
# Usage: scripts/eval_faq.sh [DIR [PARAPHRASES [OUT_OF_SCOPE]]] [-- extra arguments, e.g. --tune]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="${1:-}"
paraphrases="${2:-}"
out_of_scope="${3:-}"
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
asked="$dir$paraphrases$out_of_scope"
paraphrases="${paraphrases:-$ROOT/knowledge/faq_eval/paraphrases.tsv}"
out_of_scope="${out_of_scope:-$ROOT/knowledge/faq_eval/out_of_scope.txt}"
args=()
sets=("$paraphrases" "$out_of_scope")
if [ -z "$asked" ]; then
  bike="$ROOT/knowledge/faq_eval/bike"
  climbing="$ROOT/knowledge/faq_eval/climbing"
  args=(--also "$bike/faq" "$bike/paraphrases.tsv" "$bike/out_of_scope.txt"
        --check "$climbing/faq" "$climbing/paraphrases.tsv" "$climbing/out_of_scope.txt"
        --check "$bike/faq" "$bike/direct_paraphrases.tsv" "$bike/out_of_scope.txt")
  sets+=("$bike/paraphrases.tsv" "$bike/out_of_scope.txt" "$bike/direct_paraphrases.tsv"
         "$climbing/paraphrases.tsv" "$climbing/out_of_scope.txt")
fi
args=(--dir "${dir:-$ROOT/knowledge/faq}" --paraphrases "$paraphrases"
      --out-of-scope "$out_of_scope" "${args[@]}")

bash "$ROOT/scripts/setup.sh" model
readings="$(mktemp -t atelier-nlu-readings.XXXXXX)"
trap 'rm -f "$readings"' EXIT
"$(venv_rasa)/bin/python" "$ROOT/scripts/nlu_readings.py" --model "$(model_dir)/model.tar.gz" \
  --out "$readings" "${sets[@]}"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$(venv_app)/bin/python" \
  "$ROOT/scripts/eval_faq_bot.py" --readings "$readings" "${args[@]}" "$@"
