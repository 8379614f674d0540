#!/usr/bin/env bash
# The README's first command: set up .venv, then show the idea of sparks in about 3 minutes on
# two idle CPU cores, offline, with the embedded model (SmolLM2-135M-Instruct): an arithmetic
# task it can solve ("What is 7 + 5?"), evaluated three times through lm-eval (sparks regress):
# as it is, with its top 5 heads ablated (examples/quickstart/heads.json, made by
# `sparks discover`; the command is in examples/quickstart/README.md), and with 5 random heads
# ablated, matched layer by layer. Then the three scores and the report's headline.
# Extra arguments go to `sparks regress` (e.g. --rerun). Output: out/quickstart (or $SPARKS_OUTPUT).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/ensure-venv.sh"

OUT="${SPARKS_OUTPUT:-$ROOT/out/quickstart}"
mkdir -p "$OUT"
python "$ROOT/examples/quickstart/quickstart.py" prepare "$OUT"
sparks regress "$OUT/regress.yaml" "$@"
python "$ROOT/examples/quickstart/quickstart.py" summary "$OUT"
cat <<EOF

What you saw: switching off the 5 attention heads that \`sparks discover\` ranked highest takes
the model's arithmetic away; 5 random heads in the same layers hurt far less. Runs, sample logs
and the report (report.md, report.html: every failure labelled, with its evidence) are in
$OUT/results.

Next: competition math with a real reasoning model (a GPU helps; README "Tasks"):
  lm_eval --model sparks --model_args pretrained=deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B \\
    --tasks amc_sparks --apply_chat_template --log_samples --output_path out/r1
  sparks discover --help    # the heads post-training made emerge (docs/discover.md)
  docs/experiments.md       # the paper's four experiments, step by step
EOF
