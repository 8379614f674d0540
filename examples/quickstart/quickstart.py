"""The two Python steps of scripts/quickstart.sh: write the arithmetic task and the regress spec,
then print the three scores and the report's headline.

    python examples/quickstart/quickstart.py prepare OUT   # OUT/arith, OUT/regress.yaml
    python examples/quickstart/quickstart.py summary OUT   # reads OUT/results/report/report.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HEADS = Path(__file__).resolve().parent / "heads.json"
PROBLEMS = 24
WHAT = {
    "base": "the model as it is",
    "ablated": f"its top 5 heads ({HEADS.name}, from sparks discover) switched off",
    "random-s0": "5 random heads in the same layers switched off",
}


def prepare(out: Path) -> None:
    """The arithmetic task (one-digit additions the embedded model can do) and the spec of three
    runs: base, the top 5 heads ablated, 5 matched random heads ablated."""
    from harness_ext.reports.fixtures import write_arithmetic_task

    _, data = write_arithmetic_task(out / "arith", problems=PROBLEMS)
    spec = f"""# written by scripts/quickstart.sh: three runs of the embedded model on {PROBLEMS} additions
tasks: [arith_sparks_greedy]
include_path: arith/tasks
metadata: {{data_dir: "{data.resolve()}"}}
gen_kwargs: {{max_gen_toks: 48}}
batch_size: {PROBLEMS}
device: cpu
apply_chat_template: true
output: results
heads: "{HEADS}"
runs:
  - name: base
  - name: ablated
    interventions: 'zero:@{HEADS}#5'
  - name: random
    interventions: 'random:@{HEADS}#5'
    seeds: 1
    control_for: ablated
"""
    (out / "regress.yaml").write_text(spec, encoding="utf-8")


def summary(out: Path) -> None:
    """The three accuracies and how the ablation compares with the base and the random heads."""
    report = json.loads((out / "results" / "report" / "report.json").read_text(encoding="utf-8"))
    print(f"\nThe embedded model on {PROBLEMS} one-digit additions (greedy, through lm-eval):")
    for row in report["accuracy"]:
        if row["tier"] == "all":
            print(f"  {row['run']:<10} {row['accuracy']:6.1%}   {WHAT.get(row['run'], '')}")
    comparisons = [
        ("base", report["deltas"], "candidate"),
        ("the random heads", report["control_deltas"], "run"),
    ]
    for name, rows, key in comparisons:
        for row in rows:
            if row["tier"] == "all" and row[key] == "ablated":
                p = row["p_value"]
                low, high = (100 * x for x in row["ci95"])
                shown = "< 0.001" if p < 0.001 else f"= {p:.3f}"
                print(
                    f"  ablated vs {name}: {100 * row['delta']:+.1f} points "
                    f"(95% CI {low:+.1f} to {high:+.1f}, p {shown})"
                )


if __name__ == "__main__":
    {"prepare": prepare, "summary": summary}[sys.argv[1]](Path(sys.argv[2]))
