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

lm-eval hands every task one metadata dict: the task YAML's ``metadata``, the model_args
(``pretrained=...``), ``--metadata`` and its own ``config_source``, all merged. A misspelt key
(``{"repeat": 1}``) would vanish in it, so keys that nothing reads get a warning naming the
nearest known key, once per key per process.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import json
import logging
import re
import sys
from typing import Any, Iterator, Mapping, Sequence

from lm_eval.api.task import ConfigurableTask

from harness_ext.answers.graders import METADATA_KEY, GradingRules, rules_from_metadata
from harness_ext.errors import SparksError
from harness_ext.tasks import METADATA_KEYS

logger = logging.getLogger(__name__)

# Keys lm-eval itself puts into a task's metadata (0.4.13: tasks/_factory.py).
LM_EVAL_KEYS = ("version", "config_source", "_metadata", "config")
# Keys of the sparks task YAMLs' own metadata: the grading rules (harness_ext.answers.graders).
TASK_YAML_KEYS = ("grading",)
# Keys lm-eval's own tasks read from --metadata (RULER, BABILong): a run may mix them with ours.
LM_EVAL_TASK_KEYS = ("max_seq_lengths", "tokenizer", "pretrained", "model", "qa_split")
# model_args of the sparks model beyond HFLM's (harness_ext.model.SparksLM).
SPARKS_MODEL_ARGS = ("pretrained", "interventions", "intervention_mode")
MODEL_ARGS_FLAGS = ("--model_args", "-a")
ARG_KEY = re.compile(r"[A-Za-z_][\w.-]*")

_warned_keys: set[str] = set()
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


# ---------------------------------------------------------------- unknown metadata keys


def warn_unknown_metadata(
    metadata: Mapping[str, Any], argv: Sequence[str] | None = None
) -> list[str]:
    """Warn about metadata keys that neither sparks, lm-eval nor the model reads.

    Each such key is warned about once per process, with the nearest known key. Returns the
    unknown keys (warned about now or before).
    """
    cheap = known_metadata_keys(sys.argv if argv is None else argv)
    unknown = [str(key) for key in metadata if str(key) not in cheap]
    if not unknown:
        return []
    known = cheap | model_arg_names()  # imports HFLM: only when a key is still unexplained
    unknown = [key for key in unknown if key not in known]
    for key in unknown:
        if key not in _warned_keys:
            _warned_keys.add(key)
            logger.warning("%s", unknown_key_message(key, known))
    return unknown


def unknown_key_message(key: str, known: set[str]) -> str:
    """The warning for one unknown metadata key, naming the nearest known key."""
    near = nearest_key(key, known)
    guess = f" (did you mean {near!r}?)" if near else ""
    return (
        f"--metadata key {key!r} is not read by the sparks tasks, by lm-eval or by the "
        f"model, so it has no effect{guess}. The sparks tasks read "
        f"{', '.join(METADATA_KEYS)}."
    )


def nearest_key(key: str, known: set[str] | Sequence[str]) -> str | None:
    """The known key closest to ``key`` (sparks' own keys first), or None if none is close."""
    for pool in (METADATA_KEYS, sorted(known)):
        found = difflib.get_close_matches(key, pool, n=1)
        if found:
            return found[0]
    return None


def known_metadata_keys(argv: Sequence[str]) -> set[str]:
    """Keys known without importing a model: sparks', lm-eval's and the --model_args given."""
    return {
        *METADATA_KEYS,
        *LM_EVAL_KEYS,
        *TASK_YAML_KEYS,
        *LM_EVAL_TASK_KEYS,
        *SPARKS_MODEL_ARGS,
    } | command_line_model_args(argv)


def command_line_model_args(argv: Sequence[str]) -> set[str]:
    """The keys given with ``--model_args``/``-a`` in ``argv`` (lm-eval merges model_args
    into the metadata, so these keys are known even where the model takes them as **kwargs)."""
    keys: set[str] = set()
    taking = False
    for token in argv:
        if token in MODEL_ARGS_FLAGS:
            taking = True
        elif token.startswith("--model_args="):
            keys |= _arg_keys(token.split("=", 1)[1])
            taking = False
        elif token.startswith("-"):
            taking = False
        elif taking:  # lm-eval takes one or more values: "a=1,b=2" or "a=1 b=2" or JSON
            keys |= _arg_keys(token)
    return keys


def _arg_keys(text: str) -> set[str]:
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {str(key) for key in parsed}
    parts = (part.split("=", 1)[0].strip() for part in text.split(",") if "=" in part)
    return {key for key in parts if ARG_KEY.fullmatch(key)}


def model_arg_names() -> set[str]:
    """Constructor arguments of HFLM and of every lm-eval model class loaded in this process
    (the model of a run is loaded before its tasks are built)."""
    from lm_eval.api.model import LM

    try:
        import lm_eval.models.huggingface  # noqa: F401  (HFLM: the base of the sparks model)
    except ImportError:
        pass
    names = set(SPARKS_MODEL_ARGS)
    for model_class in _subclasses(LM):
        for klass in model_class.__mro__:
            names |= _init_parameters(klass)
    return names


def _subclasses(cls: type) -> Iterator[type]:
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


def _init_parameters(klass: type) -> set[str]:
    init = klass.__dict__.get("__init__")
    if init is None:
        return set()
    try:
        parameters = inspect.signature(init).parameters.values()
    except (TypeError, ValueError):
        return set()
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in named and p.name != "self"}
