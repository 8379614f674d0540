"""The only lm-eval 0.4.13 classes sparks patches, each because lm-eval offers no other way.

Everything else sparks adds to lm-eval goes through lm-eval's own extension points: model
classes (``SparksLM(HFLM)``, ``SparksVLLM(VLLM)``) that override the methods lm-eval's own
``steered`` model overrides, lazy registry entries (``model_registry.register``), and the
response hook lm-eval hands every model (``LM.set_cache_hook``). Three things cannot be done
that way in 0.4.13, because lm-eval builds the object itself and lets no model or plugin choose
its class:

* :func:`add_sparks_tasks`: ``TaskManager.__init__`` gets our task folder in ``include_path``
  (simple_evaluate and lm-eval's CLI build the ``TaskManager``). Goes with lm-eval PR #4015
  (open): an ``lm_eval.tasks`` entry-point group, which setup.cfg already declares.
* :func:`name_results_folder`: ``GeneralConfigTracker.log_experiment_args`` names a sparks
  run's results folder after the model and its concrete interventions (lm-eval names it from
  ``pretrained=`` alone, else from a "random" name drawn from the generator simple_evaluate has
  just seeded: the same folder for every run of the embedded model). No upstream change
  proposes a model-chosen folder name yet; remove it when one lands.
* :func:`separate_cache_per_intervention`: ``CachingLM.__init__`` gives each intervention spec
  its own ``--use_cache`` file (lm-eval keys cached answers by request alone: issues #2715 and
  #4063; PRs #3597 and #4065, both open, key the cache by model; our draft:
  docs/upstream/lm-eval-cache-per-model.md).

Each patch wraps lm-eval's own method (which still runs, unchanged), is idempotent, and is
marked with ``_sparks`` so that it is applied once. Importing this module patches nothing.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "add_sparks_tasks",
    "name_results_folder",
    "separate_cache_per_intervention",
    "with_our_tasks",
]


def with_our_tasks(include_path: object, ours: Path) -> list[Any]:
    """``include_path`` as a list that starts with our task folder ``ours`` (added once)."""
    if include_path is None:
        paths: list[Any] = []
    elif isinstance(include_path, (list, tuple)):
        paths = list(include_path)
    else:
        paths = [include_path]
    ours = ours.resolve()
    if all(Path(p).resolve() != ours for p in paths):
        # ours goes first, so that a user's own include_path still overrides our tasks
        paths.insert(0, ours)
    return paths


def add_sparks_tasks(manager_module: ModuleType, ours: Path) -> None:
    """Patch ``TaskManager.__init__`` to add our task folder ``ours`` to ``include_path``.

    Remove with lm-eval PR #4015 (an ``lm_eval.tasks`` entry-point group), once released.
    """
    task_manager = manager_module.TaskManager
    original = task_manager.__init__
    if getattr(original, "_sparks", False):
        return

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # TaskManager's signature
        kwargs["include_path"] = with_our_tasks(kwargs.get("include_path"), ours)
        original(self, *args, **kwargs)

    _mark(__init__, original)
    task_manager.__init__ = __init__


def name_results_folder(tracker_module: ModuleType, backends: dict[str, str]) -> None:
    """Patch ``GeneralConfigTracker.log_experiment_args``: after lm-eval's own method, a run
    of a model named in ``backends`` (model name -> ``"hf"`` or ``"vllm"``) gets the names of
    :func:`harness_ext.run_names.results_names` (other models are untouched).

    lm-eval calls it once the model is built, so the name uses the random control the model
    drew (no second draw). No upstream change proposes this yet.
    """
    tracker = tracker_module.GeneralConfigTracker
    original = tracker.log_experiment_args
    if getattr(original, "_sparks", False):
        return

    def log_experiment_args(
        self: Any, model_source: str, model_args: Any, *args: Any, **kwargs: Any
    ) -> None:
        original(self, model_source, model_args, *args, **kwargs)
        backend = backends.get(model_source)
        if backend is not None:
            from harness_ext.run_names import results_names

            found = tracker._get_model_name(model_args)
            self.model_name, self.model_name_sanitized = results_names(
                model_args, found, backend=backend
            )

    _mark(log_experiment_args, original)
    tracker.log_experiment_args = log_experiment_args


def separate_cache_per_intervention() -> None:
    """Patch ``CachingLM.__init__`` so that each intervention spec has its own ``--use_cache``
    file (idempotent).

    ``CachingLM`` keys cached answers by request alone, so a run with heads ablated would
    silently reuse the answers of a baseline run sharing the cache path. Called when a sparks
    model with interventions is built (lm-eval wraps the model in ``CachingLM`` after building
    it); from then on ``CachingLM`` adds the model's ``cache_tag`` to the file name. Models
    without a ``cache_tag`` (runs without interventions, other models) keep lm-eval's path.
    Remove when lm-eval keys its cache by model (PRs #3597, #4065).
    """
    from lm_eval.api import model as lm_eval_model

    original = lm_eval_model.CachingLM.__init__
    if getattr(original, "_sparks", False):
        return

    def __init__(self: Any, lm: Any, cache_db: str) -> None:
        tag = getattr(lm, "cache_tag", None)
        if tag:
            stem = cache_db[:-3] if cache_db.endswith(".db") else cache_db
            cache_db = f"{stem}_sparks-{tag}.db"
        original(self, lm, cache_db)

    _mark(__init__, original)
    lm_eval_model.CachingLM.__init__ = __init__  # type: ignore[method-assign]


def _mark(wrapper: Any, original: Any) -> None:
    wrapper._sparks = True
    wrapper.__doc__ = original.__doc__
    wrapper.__wrapped__ = original
