"""Make lm-eval 0.4.13 find the ``sparks`` model and tasks with no flag and no user import.

lm-eval 0.4.13 reads no entry points. Upstream has merged an ``lm_eval.models`` group (after
0.4.13) and proposed an ``lm_eval.tasks`` group; setup.cfg declares both. Until a release
reads them, this module bridges the gap: the installed ``harness_ext_lm_eval.pth`` file calls
:func:`install` at Python start-up, which only adds a tiny import hook to ``sys.meta_path``.
Nothing is imported until a program imports lm-eval itself; then:

* right after ``lm_eval.models`` runs, ``"sparks"`` is registered as a lazy
  ``"harness_ext.model:SparksLM"`` placeholder (the form lm-eval uses for its own models,
  through its public ``model_registry.register``; PR #4013's ``lm_eval.models`` group, merged
  after 0.4.13, replaces this step);
* right after ``lm_eval.tasks.manager`` runs, every ``TaskManager`` gets our task folder
  in its ``include_path`` (lm-eval scans its own tasks first, then include paths);
* right after ``lm_eval.loggers.evaluation_tracker`` runs, ``sparks`` runs get their own
  results folder name.

The last two patch lm-eval classes, since 0.4.13 offers no other way: those patches, and the
cache one the model applies, live in :mod:`harness_ext.lm_eval_patches`, each with the upstream
change that will remove it. The rest is lm-eval's public API or no lm-eval class at all:

* right after ``lm_eval.api.task`` runs, two lm-eval warnings that never concern a sparks
  user are filtered out of its loggers (:mod:`harness_ext.quiet`);
* right after ``lm_eval._cli`` runs (only lm-eval's command line imports it: ``lm_eval``,
  ``python -m lm_eval``), a sparks error that escapes is shown as one line
  (:func:`harness_ext.errors.install_excepthook`); a program that imports lm-eval or sparks
  as a library keeps its own ``sys.excepthook``.

Delete this module, the ``.pth`` file and setup.py's ``build_py`` step once lm-eval ships the
entry-point groups.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (type checkers read True)

# This module runs at every Python start-up: only `sys` is imported eagerly (pathlib, typing's
# runtime names and importlib.abc cost ~20 ms there); the rest is imported where it is used.
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from pathlib import Path
    from types import ModuleType

MODEL_NAME = "sparks"
MODEL_TARGET = "harness_ext.model:SparksLM"
VLLM_MODEL_NAME = "sparks-vllm"
VLLM_MODEL_TARGET = "harness_ext.vllm_model:SparksVLLM"  # imports vLLM only when chosen


def tasks_dir() -> Path:
    """The folder of our lm-eval task YAMLs (``harness_ext.tasks``)."""
    from pathlib import Path

    import harness_ext.tasks

    return Path(harness_ext.tasks.__file__).resolve().parent


def register_model() -> None:
    """Register ``sparks`` and ``sparks-vllm`` in lm-eval's model registry as lazy placeholders."""
    from lm_eval.api.registry import model_registry

    for name, target in ((MODEL_NAME, MODEL_TARGET), (VLLM_MODEL_NAME, VLLM_MODEL_TARGET)):
        if name not in model_registry:
            model_registry.register(name, target=target)


def install_cli_excepthook() -> None:
    """Show a sparks error that escapes lm-eval's command line as one line, not a traceback."""
    from harness_ext.errors import install_excepthook

    install_excepthook()


def install_log_filters() -> None:
    """Drop the warnings that never concern a sparks user (:mod:`harness_ext.quiet`)."""
    from harness_ext.quiet import install_log_filters as install

    install()


def _add_sparks_tasks(manager_module: ModuleType) -> None:
    from harness_ext.lm_eval_patches import add_sparks_tasks

    add_sparks_tasks(manager_module, tasks_dir())


def _name_results_folder(tracker_module: ModuleType) -> None:
    from harness_ext.lm_eval_patches import name_results_folder

    name_results_folder(tracker_module, {MODEL_NAME: "hf", VLLM_MODEL_NAME: "vllm"})


class _AfterImportLoader:
    """Wraps a module's real loader and runs a callback once the module has executed."""

    def __init__(self, loader: Loader, after: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._after = after

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:  # noqa: D102 - loader protocol
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102 - loader protocol
        self._loader.exec_module(module)
        try:
            self._after(module)
        except Exception as error:  # never break lm-eval's own import
            print(f"sparks: could not register with lm-eval: {error}", file=sys.stderr)


class _LmEvalHook:
    """Finds nothing itself; wraps the loaders of the lm-eval modules we extend."""

    def __init__(self) -> None:
        self.after: dict[str, Callable[[ModuleType], None]] = {
            "lm_eval.models": lambda _module: register_model(),
            "lm_eval.tasks.manager": _add_sparks_tasks,
            "lm_eval.loggers.evaluation_tracker": _name_results_folder,
            "lm_eval._cli": lambda _module: install_cli_excepthook(),
            "lm_eval.api.task": lambda _module: install_log_filters(),
        }

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        after = self.after.get(fullname)
        if after is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _AfterImportLoader(spec.loader, after)  # type: ignore[assignment]
                return spec
        return None


def install() -> None:
    """Add the import hook (idempotent); if lm-eval is already imported, register now."""
    if any(isinstance(finder, _LmEvalHook) for finder in sys.meta_path):
        return
    hook = _LmEvalHook()
    sys.meta_path.insert(0, hook)
    for name, after in hook.after.items():
        module = sys.modules.get(name)
        if module is not None:
            after(module)
