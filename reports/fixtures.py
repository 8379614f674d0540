"""Build lm-eval output folders without a model: for tests of reports and of labeler plugins.

:func:`write_run` writes a ``results_<ts>.json`` and one ``samples_<task>_<ts>.jsonl`` per task
in the shape lm-eval 0.4.13 writes them for the sparks tasks. :func:`derive_run` copies a real
run and rewrites chosen problems as solved or failed, which makes deterministic "drops" out of
real model output.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

from harness_ext.formats.results import SparksRecord

if TYPE_CHECKING:
    from harness_ext.answers.graders import GradingRules

__all__ = ["ARITHMETIC_TASK", "FakeProblem", "derive_run", "write_arithmetic_task", "write_run"]

DATE_ID = "2026-01-01T00-00-00.000000"


@dataclass(frozen=True)
class FakeProblem:
    """One problem of a fake run: its gold answer, tier and responses."""

    problem_id: str
    answer: str
    responses: Sequence[str]
    tier: str = "easy"
    number: int = 1
    problem: str = "A problem."
    correct: Optional[Sequence[bool]] = None  # default: the response's \\boxed{} equals gold
    ungraded: Optional[int] = None  # default: the responses whose check ran out of time
    extra: Mapping[str, Any] = field(default_factory=dict)


def _sample(
    doc_id: int, problem: FakeProblem, metric: str, max_gen_toks: int, rules: GradingRules
) -> dict[str, Any]:
    from harness_ext.answers import graders

    given = problem.correct is not None and problem.ungraded is not None
    doc = {
        "problem_id": problem.problem_id,
        "problem": problem.problem,
        "answer": problem.answer,
        "number": str(problem.number),
        "tier": problem.tier,
        "source": "fixture",
        **problem.extra,
    }
    verdicts = (
        []
        if given  # nothing left to grade
        else [graders.check(r, doc, rules) for r in problem.responses]  # as the task grades
    )
    correct = (
        list(problem.correct) if problem.correct is not None else [v.correct for v in verdicts]
    )
    ungraded = (
        problem.ungraded if problem.ungraded is not None else sum(v.ungraded for v in verdicts)
    )
    return {
        "doc_id": doc_id,
        "doc": doc,
        "target": problem.answer,
        "arguments": {
            "gen_args_0": {
                "arg_0": problem.problem,
                "arg_1": {"until": ["<|im_end|>"], "max_gen_toks": max_gen_toks},
            }
        },
        "resps": [list(problem.responses)],
        "filtered_resps": [[graders.extract(r, rules) or "" for r in problem.responses]],
        "filter": "extracted",
        "metrics": [metric, "ungraded"],
        metric: sum(correct) / len(correct),
        "ungraded": ungraded,
    }


def write_run(
    folder: Path,
    tasks: Mapping[str, Sequence[FakeProblem]],
    *,
    model_args: str = "",
    interventions: Optional[str] = None,
    max_gen_toks: int = 4096,
    date_id: str = DATE_ID,
    model_dir: str = "sparks",
    grading: Optional[Mapping[str, GradingRules]] = None,
) -> Path:
    """Write a fake lm-eval run of ``tasks`` into ``folder``; returns the results file.

    A task whose name ends in ``_greedy`` is scored with ``exact_match``, others with
    ``pass@1``; ``repeats`` is the number of responses of the first problem. ``grading``
    gives a task's grading rules (default: the math grader), recorded in its config's
    metadata as SparksTask records them, and used to grade its responses.
    """
    from harness_ext.answers.graders import METADATA_KEY, GradingRules

    out = folder / model_dir
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    configs: dict[str, Any] = {}
    n_samples: dict[str, Any] = {}
    for task, problems in tasks.items():
        metric = "exact_match" if task.endswith("_greedy") else "pass@1"
        rules = (grading or {}).get(task) or GradingRules()
        samples = [_sample(i, p, metric, max_gen_toks, rules) for i, p in enumerate(problems)]
        with open(out / f"samples_{task}_{date_id}.jsonl", "w", encoding="utf-8") as stream:
            for sample in samples:
                stream.write(json.dumps(sample) + "\n")  # \\u escapes keep lone surrogates
        scores = [s[metric] for s in samples]
        results[task] = {
            "alias": task,
            f"{metric},extracted": sum(scores) / max(1, len(scores)),
            f"{metric}_stderr,extracted": 0.0,
            "ungraded,extracted": float(sum(s["ungraded"] for s in samples)),
            "ungraded_stderr,extracted": "N/A",
        }
        configs[task] = {
            "task": task,
            "repeats": len(problems[0].responses) if problems else 1,
            "generation_kwargs": {"max_gen_toks": max_gen_toks, "do_sample": metric == "pass@1"},
            "metadata": {"version": 1.0, METADATA_KEY: rules.model_dump(mode="json")},
        }
        n_samples[task] = {"original": len(problems), "effective": len(problems)}
    data = {
        "results": results,
        "configs": configs,
        "n-samples": n_samples,
        "config": {
            "model": "sparks",
            "model_args": model_args,
            **SparksRecord(
                version="0.1.0", backend="transformers", interventions=interventions or None
            ).to_config(),
        },
        "date": 1767225600.0,
        "lm_eval_version": "0.4.13",
    }
    path = out / f"results_{date_id}.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def derive_run(
    source: Path,
    target: Path,
    *,
    solve: Iterable[str] = (),
    fail: Iterable[str] = (),
    interventions: Optional[str] = None,
) -> Path:
    """Copy the run in ``source`` to ``target``, rewriting problems (by problem id) as solved
    (every response ends with the gold answer boxed) or failed (with a wrong one).

    Returns the new results file. Scores in the samples and in the results are recomputed.
    """
    from harness_ext.reports.runs import find_results_file

    solve, fail = set(solve), set(fail)
    results_file = find_results_file(source, lambda message: None)
    out = target / results_file.parent.name
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(results_file.parent, out, ignore=shutil.ignore_patterns("results_*.json"))
    data = json.loads(results_file.read_text(encoding="utf-8"))
    date_id = results_file.stem[len("results_") :]
    for task, scores in data["results"].items():
        samples_file = out / f"samples_{task}_{date_id}.jsonl"
        if not samples_file.is_file():
            continue
        metric = "exact_match" if "exact_match,extracted" in scores else "pass@1"
        lines = []
        values = []
        for line in samples_file.read_text(encoding="utf-8").splitlines():
            sample = json.loads(line)
            pid = sample["doc"]["problem_id"]
            gold = str(sample["doc"]["answer"])
            if pid in solve or pid in fail:
                answer = gold if pid in solve else _wrong(gold)
                sample["resps"] = [
                    [f"{r}\n\nSo the answer is \\boxed{{{answer}}}." for r in sample["resps"][0]]
                ]
                sample["filtered_resps"] = [[answer for _ in sample["resps"][0]]]
                sample[metric] = 1.0 if pid in solve else 0.0
            values.append(sample[metric])
            lines.append(json.dumps(sample, ensure_ascii=False))
        samples_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        scores[f"{metric},extracted"] = sum(values) / max(1, len(values))
    if interventions is not None:
        record = replace(SparksRecord.from_config(data["config"]), interventions=interventions)
        data["config"].update(record.to_config())
    path = out / results_file.name
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def _wrong(gold: str) -> str:
    return str(int(gold) + 1) if gold.strip().isdigit() else f"{gold}+1"


# ------------------------------------------------------- a task the embedded model can solve

ARITHMETIC_TASK = "arith_sparks_greedy"

# A user-defined task built from the sparks machinery (lm-eval finds it with --include_path):
# the plain problem as the prompt (no "reason step by step" instruction, which sends a 135M
# model off into long wrong derivations), greedy, scored by the sparks answer checker. The
# embedded model solves most one-digit additions with it, so an intervention that breaks the
# model shows as a real, significant drop (the MATH/AMC/AIME tasks are at 0% for it).
ARITHMETIC_TASK_YAML = """\
task: arith_sparks_greedy
class: !function harness_ext.tasks.task.SparksTask
custom_dataset: !function harness_ext.tasks.data.load_math500
output_type: generate_until
test_split: test
doc_to_text: "{{problem}}"
doc_to_target: answer
num_fewshot: 0
generation_kwargs:
  until: ["<|im_end|>", "<|endoftext|>"]
  do_sample: false
  temperature: 0.0
  max_gen_toks: 48
repeats: 1
filter_list:
  - name: extracted
    filter:
      - function: custom
        filter_fn: !function harness_ext.tasks.scoring.extract_answers
process_results: !function harness_ext.tasks.scoring.exact_match
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
  - metric: ungraded
    aggregation: !function harness_ext.tasks.scoring.total
    higher_is_better: false
metadata:
  version: 1.0
  grading:
    grader: math
"""


def write_arithmetic_task(
    folder: str | Path, problems: int = 24, seed: int = 0
) -> tuple[Path, Path]:
    """Write ``tasks/arith_sparks_greedy.yaml`` and ``data/math500.jsonl`` (``problems``
    one-digit additions, "What is 7 + 5?"; level 1 when the sum is below 10, else level 2)
    under ``folder``. Returns ``(task folder, data folder)``: pass the first as lm-eval's
    ``--include_path`` and the second as ``SPARKS_DATA_DIR``."""
    import random

    rng = random.Random(seed)
    folder = Path(folder)
    tasks, data = folder / "tasks", folder / "data"
    tasks.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    (tasks / f"{ARITHMETIC_TASK}.yaml").write_text(ARITHMETIC_TASK_YAML, encoding="utf-8")
    rows = []
    for i in range(problems):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        rows.append(
            {
                "id": f"arith/{i}",
                "problem": f"What is {a} + {b}?",
                "answer": str(a + b),
                "subject": "Arithmetic",
                "level": 1 if a + b < 10 else 2,
            }
        )
    with open(data / "math500.jsonl", "w", encoding="utf-8") as stream:
        stream.writelines(json.dumps(row) + "\n" for row in rows)
    return tasks, data
