#!/usr/bin/env bash
# Score product search on a labelled relevance set: builds a scratch index (never the
# shop's), runs every query in the dense, lexical and hybrid modes, writes the run and
# prints nDCG@10 and recall@10 (see knowledge/eval_search.py).
# Usage: scripts/eval_search.sh [PRODUCTS [QUERIES [LABELS [OUT]]]] [-- extra arguments]
# Empty ones default to the demo shop's relevance set and var/search_eval/run.tsv.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

products="${1:-$ROOT/commerce_core/demo/catalog.csv}"
queries="${2:-$ROOT/knowledge/search_eval/queries.tsv}"
labels="${3:-$ROOT/knowledge/search_eval/labels.tsv}"
out="${4:-$ROOT/var/search_eval/run.tsv}"
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
for file in "$products" "$queries" "$labels"; do
  [ -f "$file" ] || die "no such file: $file"
done

bash "$ROOT/scripts/setup.sh" venvs
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$(venv_app)/bin/python" -m knowledge.eval_search \
  --products "$products" --queries "$queries" --labels "$labels" --out "$out" "$@"
