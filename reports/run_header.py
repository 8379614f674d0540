"""What a results file says about its run, beside the samples: the metric and tier of each
task, the model and its settings, the interventions (recorded by the sparks model in its
``sparks_*`` block, :class:`harness_ext.formats.results.SparksRecord`; given in model_args;
or folded into the checkpoint, :mod:`harness_ext.formats.fold_note`), the random control, the
chat template and the date, and which of its tasks are sparks tasks."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.formats.results import SparksRecord
from harness_ext.formats.samples import LoggedSample
from harness_ext.reports.run_files import date_id
from harness_ext.reports.run_types import TIER_FALLBACK, Warn

__all__ = [
    "FILTER",
    "METRICS",
    "MODEL_IDENTITY_ARGS",
    "PREDICT_ONLY",
    "chat_template",
    "is_folded",
    "max_gen_toks",
    "model_settings",
    "pick_tasks",
    "random_control",
    "run_date",
    "run_interventions",
    "task_metric",
    "tier",
]

METRICS = ("pass@1", "exact_match")
FILTER = "extracted"

PREDICT_ONLY = "bypass"  # the metric lm-eval puts in place of a task's own under --predict_only


def task_metric(task: str, scores: Mapping[str, Any], config: Mapping[str, Any]) -> Optional[str]:
    """The task's metric; a ``--predict_only`` run (metric ``bypass``) is graded here instead,
    with the metric its task would have used (``pass@1`` when sampled, else exact match)."""
    for metric in METRICS:
        if f"{metric},{FILTER}" in scores:
            return metric
    if f"{PREDICT_ONLY},{FILTER}" in scores:
        sampled = bool((config.get("generation_kwargs") or {}).get("do_sample"))
        return "pass@1" if sampled else "exact_match"
    return None


def tier(doc: Mapping[str, Any], task: str) -> str:
    """A problem's tier: as its doc gives it, else from its number or level (the task's tiers)."""
    given = doc.get("tier")
    if given:
        return str(given)
    from harness_ext import tiers

    number = doc.get("number")
    level = doc.get("level") or number
    try:
        if task.startswith("aime") and number is not None:
            return tiers.tier_for_number("aime", int(number))
        if task.startswith("amc") and number is not None:
            return tiers.tier_for_number("amc", int(number))
        if task.startswith("math500") and level is not None:
            return tiers.tier_for_level(int(level))
    except (TypeError, ValueError):
        pass
    return TIER_FALLBACK


def max_gen_toks(sample: LoggedSample, config: Mapping[str, Any]) -> Optional[int]:
    """The token budget: as logged with the request, else the task's configured one."""
    if sample.max_gen_toks is not None:
        return sample.max_gen_toks
    value = (config.get("generation_kwargs") or {}).get("max_gen_toks")
    return int(value) if value is not None else None


def run_date(data: Mapping[str, Any], results_file: Path) -> str:
    """When the run was made: the results file's date, else the date in its name."""
    value = data.get("date")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if value:
        return str(value)
    return date_id(results_file)


def run_interventions(record: SparksRecord, model_args: str, note: Optional[dict[str, Any]]) -> str:
    """The run's interventions: recorded by the sparks model, in model_args, or folded into
    the checkpoint it ran (``note``: what ``sparks fold`` left in the folder), in that order."""
    if record.interventions:
        return record.interventions
    match = re.search(r"(?:^|,)\s*interventions=([^,]*)", model_args)
    if match:
        return match.group(1)
    return str(note.get("interventions") or "") if note else ""


MODEL_IDENTITY_ARGS = ("pretrained", "interventions", "intervention_mode")


def model_settings(args: Mapping[str, str]) -> dict[str, str]:
    """model_args other than which model and which interventions (shown, and compared)."""
    settings = {k: v for k, v in args.items() if k not in MODEL_IDENTITY_ARGS}
    thinking = re.search(r"enable_thinking['\"]?\s*:\s*(\w+)", args.get("chat_template_args", ""))
    if "enable_thinking" not in settings and thinking:
        settings["enable_thinking"] = thinking.group(1)
    return settings


def chat_template(data: Mapping[str, Any]) -> str:
    """Whether lm-eval applied a chat template, and which (its sha)."""
    sha = data.get("chat_template_sha")
    if sha:
        return f"applied (sha {str(sha)[:8]})"
    return "applied" if data.get("chat_template") else "not applied"


def random_control(
    record: SparksRecord, note: Optional[dict[str, Any]]
) -> Optional[dict[str, Any]]:
    """What a ``random:`` control drew (``config.sparks_random_control``, or a folded
    checkpoint's note), so that the run can be repeated exactly; None for other runs."""
    drawn = record.random_control
    if drawn is None and note:
        drawn = note.get("random_control")
    return drawn if isinstance(drawn, dict) else None


def is_folded(record: SparksRecord, model_args: str, note: Optional[dict[str, Any]]) -> bool:
    """Whether the run's interventions are folded into its checkpoint (``sparks fold``)."""
    return not record.interventions and "interventions=" not in model_args and note is not None


def pick_tasks(
    data: Mapping[str, Any], results_file: Path, wanted: Optional[Sequence[str]], warn: Warn
) -> list[tuple[str, str]]:
    """The sparks tasks of the run with their metric (``wanted``: those asked for)."""
    configs = data.get("configs") or {}
    results = data.get("results") or {}
    found: list[tuple[str, str]] = []
    foreign: list[str] = []
    for task in sorted(configs):
        metric = task_metric(task, results.get(task) or {}, configs.get(task) or {})
        if metric is None:
            foreign.append(task)
        else:
            found.append((task, metric))
    if wanted:
        known = {task for task, _ in found}
        unknown = [task for task in wanted if task not in known]
        if unknown:
            raise SparksError(
                f"task(s) {', '.join(unknown)} are not in {results_file} (it has "
                f"{', '.join(sorted(known)) or 'no sparks tasks'}); check --tasks"
            )
        found = [(task, metric) for task, metric in found if task in wanted]
    elif foreign:
        warn(
            f"{results_file.name}: skipping {', '.join(foreign)}: not sparks tasks (no "
            f"pass@1 or exact_match with the 'extracted' filter)"
        )
    if not found:
        raise SparksError(
            f"{results_file} has no sparks task (tasks: {', '.join(sorted(configs))}"
            f"); report on runs of amc_sparks, aime24_sparks, aime25_sparks or "
            f"math500_sparks (or their _greedy variants)"
        )
    return found
