#!/usr/bin/env bash
# Backtest the weekly demand forecasts on a sales file (rolling origins, horizon 1..8
# weeks): writes every forecast with its interval and prints MASE and interval coverage
# per method against the mean and seasonal-naive baselines (commerce_core/planning/evaluate.py).
# Usage: scripts/eval_forecast.sh [SALES [OUT [HORIZON [INTERVAL]]]] [-- extra arguments]
# SALES is a TSV with the header sku<TAB>date<TAB>quantity (optional 4th column category).
# Without it, three years of a small maker's sales are generated (seed 7, see
# commerce_core/planning/simulate.py) into var/forecast_eval/sales.tsv.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sales="${1:-}"
out="${2:-$ROOT/var/forecast_eval/forecast.tsv}"
horizon="${3:-8}"
interval="${4:-0.8}"
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift

bash "$ROOT/scripts/setup.sh" venvs
python="$(venv_app)/bin/python"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "$sales" ]; then
  sales="$ROOT/var/forecast_eval/sales.tsv"
  "$python" -m commerce_core.planning.simulate --out "$sales" --seed 7
fi
[ -f "$sales" ] || die "no such file: $sales"
"$python" -m commerce_core.planning.evaluate --sales "$sales" --out "$out" \
  --horizon "$horizon" --interval "$interval" "$@"
