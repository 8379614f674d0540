"""The task class of every sparks task: lm-eval's ConfigurableTask, plus ``repeats`` from
``--metadata``, the task's grading rules and a check of the metadata keys.

A task's YAML metadata declares how it is graded (``grading``: see
:mod:`harness_ext.answers.graders`). SparksTask validates those rules before anything runs (a
malformed entry is a SparksError naming the task's file), hands them to the sparks filter and
metrics (the functions of :mod:`harness_ext.tasks.scoring` marked ``takes_rules``), and writes
them back, complete, into the metadata, which lm-eval records in the run's results file
(``configs``): the reports grade with exactly these rules. A task that declares none is graded
with the math grader.

lm-eval 0.4.13 has no command-line flag for a task's ``repeats``; our tasks read it from the
metadata that ``--metadata '{"repeats": 16}'`` passes to every task, so users choose n for
pass@1 without editing YAML.

Metadata keys that nothing reads get a warning naming the nearest known key
(:mod:`harness_ext.tasks.metadata`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Mapping

from lm_eval.api.task import ConfigurableTask

from harness_ext.answers.graders import METADATA_KEY, GradingRules, rules_from_metadata
from harness_ext.errors import SparksError
from harness_ext.tasks.metadata import warn_unknown_metadata

logger = logging.getLogger(__name__)

_warned_greedy: set[str] = set()


class SparksTask(ConfigurableTask):
    """ConfigurableTask whose ``repeats`` (n samples per problem) can come from metadata.

    Only sampled tasks take it: n greedy responses would all be the same, so a greedy task
    keeps its one response per problem and says so.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = dict(config or {})
        config.pop("class", None)
        metadata = config.get("metadata") or {}
        if isinstance(metadata, Mapping):
            warn_unknown_metadata(metadata)
            if "repeats" in metadata:
                _apply_repeats(config, parse_repeats(metadata["repeats"]))
        self.grading = _apply_grading(config)
        if self.grading.grader == "math":
            from harness_ext import answers

            answers.warm_up()  # the grader's worker starts while the model loads and generates
        super().__init__(config=config)


def _apply_grading(config: dict[str, Any]) -> GradingRules:
    """The task's grading rules (metadata ``grading``; default: the math grader), recorded in
    full in its metadata and bound to the sparks filter and metrics of its config."""
    metadata = config.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    where = f"task {config.get('task', '?')} ({metadata.get('config_source', 'inline config')})"
    rules = rules_from_metadata(metadata, where=where) or GradingRules()
    config["metadata"] = {**metadata, METADATA_KEY: rules.model_dump(mode="json")}
    config["process_results"] = _bind(config.get("process_results"), rules)
    for pipeline in config.get("filter_list") or []:  # [{name, filter: [{function, ...}]}]
        steps = pipeline.get("filter") if isinstance(pipeline, dict) else None
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, dict) and "filter_fn" in step:
                step["filter_fn"] = _bind(step["filter_fn"], rules)
    return rules


def _bind(function: Any, rules: GradingRules) -> Any:
    """``function`` with the task's rules, if it is a sparks filter or metric that takes them
    (lm-eval calls filters and metrics without the task, so the rules travel with them)."""
    if callable(function) and getattr(function, "sparks_takes_rules", False):
        return functools.partial(function, rules=rules)
    return function


def _apply_repeats(config: dict[str, Any], repeats: int) -> None:
    if (config.get("generation_kwargs") or {}).get("do_sample", False):
        config["repeats"] = repeats
        return
    kept = config.get("repeats") or 1
    task = str(config.get("task", "this task"))
    if repeats != kept and task not in _warned_greedy:
        _warned_greedy.add(task)
        logger.warning(
            "%s decodes greedily, so every response would be the same: --metadata repeats=%d "
            "does not apply to it, and it runs %d response%s per problem (repeats sets n for "
            "the sampled tasks, such as amc_sparks).",
            task,
            repeats,
            kept,
            "s" * (kept != 1),
        )


def parse_repeats(value: Any) -> int:
    """``--metadata repeats``: a positive integer (a JSON number, not a string or a bool)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    example = "--metadata '{\"repeats\": 8}'"
    if isinstance(value, str) and value.strip().isdigit():
        hint = f"write it as a number, without quotes: {example}"
    elif isinstance(value, float) and value.is_integer() and value >= 1:
        hint = f"write it as an integer ({int(value)}, not {value}): {example}"
    else:
        hint = f"e.g. {example}"
    raise SparksError(
        f"--metadata repeats={value!r} ({type(value).__name__}) is not a positive "
        f"integer; repeats is n, the number of responses sampled per "
        f"problem: {hint}."
    )
