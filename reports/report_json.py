"""``report.json``: every number of the report and one object per response (``samples``)."""

from __future__ import annotations

import json
from typing import Any, Optional

from harness_ext.reports.compare import Report
from harness_ext.reports.heads import HeadsMap

__all__ = ["SCHEMA", "heads_json", "render_json", "to_json"]

SCHEMA = "sparks-report/1"


def _settings(report: Report) -> dict[str, Any]:
    return {
        run.name: {
            task: {
                "metric": t.metric,
                "repeats": t.repeats,
                "max_gen_toks": t.max_gen_toks,
                "problems": len(t.problems),
                "lm_eval_score": t.aggregate,
                "ungraded": t.ungraded,
                "samples_file": str(t.samples_file),
            }
            for task, t in run.tasks.items()
        }
        for run in report.runs
    }


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON data."""
    settings = _settings(report)
    return {
        "schema": SCHEMA,
        "baseline": report.baseline,
        "alpha": report.alpha,
        "seed": report.seed,
        "regression": bool(report.regressions()),
        "uncompared": report.uncompared(),
        "controls": report.controls,
        "control_deltas": _control_deltas(report),
        "runs": [
            {**run.header(), "role": report.role(run.name), "tasks": settings[run.name]}
            for run in report.runs
        ],
        "accuracy": [
            {
                "run": c.run,
                "task": c.task,
                "tier": c.tier,
                "problems": c.problems,
                "responses": c.responses,
                "accuracy": c.accuracy,
                "ungraded": c.ungraded,
                "ci95": [c.ci_low, c.ci_high],
            }
            for c in report.cells
        ],
        "deltas": _deltas(report),
        "labels": [
            {"run": run, "task": task, "tier": tier, "counts": dict(counts)}
            for (run, task, tier), counts in report.labels.items()
        ],
        "flips": _flips(report),
        "samples": _samples(report),
        "heads": _heads(report),
        "warnings": list(report.warnings),
    }


def _control_deltas(report: Report) -> list[dict[str, Any]]:
    """Each run against its matched random controls."""
    return [
        {
            "run": d.run,
            "controls": list(d.controls),
            "task": d.task,
            "tier": d.tier,
            "problems": d.comparison.n,
            "control_accuracy": d.comparison.baseline,
            "run_accuracy": d.comparison.candidate,
            "delta": d.comparison.delta,
            "ci95": [d.comparison.ci_low, d.comparison.ci_high],
            "p_value": d.comparison.p_value,
            "test": d.comparison.test,
            "significant": d.significant,
        }
        for d in report.control_deltas
    ]


def _deltas(report: Report) -> list[dict[str, Any]]:
    """Each candidate against the baseline, by task and tier."""
    return [
        {
            "baseline": report.baseline,
            "candidate": d.candidate,
            "task": d.task,
            "tier": d.tier,
            "problems": d.comparison.n,
            "baseline_accuracy": d.comparison.baseline,
            "candidate_accuracy": d.comparison.candidate,
            "delta": d.comparison.delta,
            "ci95": [d.comparison.ci_low, d.comparison.ci_high],
            "p_value": d.comparison.p_value,
            "test": d.comparison.test,
            "worse": d.comparison.worse,
            "better": d.comparison.better,
            "significant": d.comparison.significant(report.alpha),
            "regression": d.regression,
        }
        for d in report.deltas
    ]


def _flips(report: Report) -> list[dict[str, Any]]:
    """The problems a candidate broke or fixed."""
    return [
        {
            "candidate": f.candidate,
            "task": f.task,
            "tier": f.tier,
            "problem_id": f.problem_id,
            "doc_id": f.doc_id,
            "direction": f.direction,
            "baseline_score": f.baseline_score,
            "candidate_score": f.candidate_score,
            "baseline_labels": list(f.baseline_labels),
            "candidate_labels": list(f.candidate_labels),
        }
        for f in report.flips
    ]


def _samples(report: Report) -> list[dict[str, Any]]:
    """Every response: its grade, label and evidence (not its text)."""
    return [
        {
            "run": run.name,
            "task": task,
            "doc_id": p.doc_id,
            "problem_id": p.problem_id,
            "tier": p.tier,
            "response_index": r.index,
            "correct": r.correct,
            "ungraded": r.ungraded,
            "label": r.label,
            "answer": r.answer,
            "gold": p.gold,
            "truncated": r.truncated,
            "n_tokens": r.n_tokens,
            "n_chars": r.n_chars,
            "tokens_recorded": r.recorded,
            "evidence": r.evidence,
            "span": list(r.span) if r.span else None,
            "note": r.note,
        }
        for run in report.runs
        for task, t in run.tasks.items()
        for p in t.problems.values()
        for r in p.responses
    ]


def _heads(report: Report) -> Optional[dict[str, Any]]:
    """The heads file the report shows, or None."""
    return None if report.heads is None else heads_json(report.heads)


def heads_json(heads: HeadsMap) -> dict[str, Any]:
    """A heads file as ``report.json`` gives it: its emergent heads in order, each with
    ``stable`` (whether ``sparks discover --bootstrap`` found it emergent in >= 80% of the
    resamples; null for a file without a bootstrap)."""
    unstable = set(heads.unstable)
    return {
        "file": str(heads.path),
        "layers": heads.n_layers,
        "heads_per_layer": heads.n_heads,
        "emergent": [
            {
                "layer": layer,
                "head": head,
                "stable": (layer, head) not in unstable if heads.bootstrapped else None,
            }
            for layer, head in heads.emergent
        ],
    }


def render_json(report: Report) -> str:
    """``report.json``: :func:`to_json` as indented text."""
    return json.dumps(to_json(report), indent=1, ensure_ascii=False) + "\n"
