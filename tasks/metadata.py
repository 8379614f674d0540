"""The check of a task's metadata keys: a key that neither sparks, lm-eval nor the model reads
gets a warning naming the nearest known key, once per key per process.

lm-eval hands every task one metadata dict: the task YAML's ``metadata``, the model_args
(``pretrained=...``), ``--metadata`` and its own ``config_source``, all merged. A misspelt key
(``{"repeat": 1}``) would vanish in it. The merged dict does not say which keys were model_args,
so the model says it: lm-eval creates the model before it builds the tasks, and the sparks
models record the model_args they were created with (:func:`record_model_args`, called by
``harness_ext.model.ArgsGivenOnce``, whatever the entry point: ``lm_eval``, ``sparks eval`` or
``simple_evaluate``). Those keys are known even where the model takes them as ``**kwargs``
(``load_in_4bit`` goes through HFLM to ``from_pretrained``). With another lm-eval model
(``--model hf``) only the keyword parameters of the loaded model classes are known, so a
model_arg such a model takes only through ``**kwargs`` is warned about (a warning, never an
error).
"""

from __future__ import annotations

import difflib
import inspect
import logging
from typing import Any, Iterable, Iterator, Mapping, Sequence

from harness_ext.tasks import METADATA_KEYS

logger = logging.getLogger("harness_ext.tasks.task")  # the logger the warnings always had

# Keys lm-eval itself puts into a task's metadata (0.4.13: tasks/_factory.py).
LM_EVAL_KEYS = ("version", "config_source", "_metadata", "config")
# Keys of the sparks task YAMLs' own metadata: the grading rules (harness_ext.answers.graders).
TASK_YAML_KEYS = ("grading",)
# Keys lm-eval's own tasks read from --metadata (RULER, BABILong): a run may mix them with ours.
LM_EVAL_TASK_KEYS = ("max_seq_lengths", "tokenizer", "pretrained", "model", "qa_split")
# model_args of the sparks model beyond HFLM's (harness_ext.model.SparksLM).
SPARKS_MODEL_ARGS = ("pretrained", "interventions", "intervention_mode")

_model_args: set[str] = set()  # the keys of the model_args the latest sparks model was given
_warned_keys: set[str] = set()


def record_model_args(model_args: Iterable[str]) -> None:
    """Record the model_args keys a model was created with (the latest model's replace any
    earlier record): the tasks built after it know these metadata keys."""
    _model_args.clear()
    _model_args.update(str(key) for key in model_args)


def recorded_model_args() -> frozenset[str]:
    """The model_args keys recorded by :func:`record_model_args` (empty: none recorded)."""
    return frozenset(_model_args)


def warn_unknown_metadata(metadata: Mapping[str, Any]) -> list[str]:
    """Warn about metadata keys that neither sparks, lm-eval nor the model reads.

    Each such key is warned about once per process, with the nearest known key. Returns the
    unknown keys (warned about now or before).
    """
    cheap = known_metadata_keys()
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


def known_metadata_keys() -> set[str]:
    """Keys known without importing a model: sparks', lm-eval's and the recorded model_args."""
    return {
        *METADATA_KEYS,
        *LM_EVAL_KEYS,
        *TASK_YAML_KEYS,
        *LM_EVAL_TASK_KEYS,
        *SPARKS_MODEL_ARGS,
    } | recorded_model_args()


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
