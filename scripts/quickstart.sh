#!/usr/bin/env bash
# The README's first command: set up .venv, then evaluate the embedded model on amc_sparks.
# Extra arguments go to lm_eval (e.g. --limit 10, --model_args pretrained=...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/ensure-venv.sh"

OUT="${SPARKS_OUTPUT:-$ROOT/out/quickstart}"
lm_eval --model sparks --tasks amc_sparks --limit 4 --batch_size 4 --apply_chat_template \
  --gen_kwargs max_gen_toks=256 --metadata '{"repeats": 1}' \
  --log_samples --output_path "$OUT" "$@"
echo "sparks: results and per-sample logs (samples_amc_sparks_*.jsonl) are under:" >&2
find "$OUT" -name '*.json*' -newer "$ROOT/scripts/quickstart.sh" -printf '  %p\n' 2>/dev/null | sort | tail -n 4 >&2
