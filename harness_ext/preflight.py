"""Checks that ``sparks eval`` and ``sparks fold`` make before lm-eval, torch or a model loads,
so that a mistake is reported in about a second, not after the start-up (10-20 s).

What is checked early: the intervention spec (its grammar, its kinds and arguments, and its
heads against the model's ``config.json`` when that file is on disk: the embedded model once
converted, or a local folder; a Hub id is checked when lm-eval loads it), a ``pretrained``
that names a local folder, and the names in ``--tasks`` that look like sparks' own (they hold
"sparks"; the tasks of ``--include_path`` count too). Other task names are lm-eval's to check:
it does so once it has read its task index, before any model loads.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.local_paths import checked_local_path
from harness_ext.model_args import parse_model_args

__all__ = ["check_eval_args", "check_interventions", "model_config"]

SPARKS_MODELS = ("sparks", "sparks-vllm")
_TASK_KEYS = re.compile(r"^(?:task|group|tag):\s*([\w.-]+)\s*$|^\s+-\s+([\w.-]+)\s*$", re.M)


def check_eval_args(argv: Sequence[str]) -> None:
    """Raise :class:`SparksError` for a mistake in ``lm_eval`` arguments for a sparks model."""
    flags = _flags(argv)
    if flags.get("--model", "sparks") not in SPARKS_MODELS:
        return
    model_args = parse_model_args(flags.get("--model_args", ""))
    pretrained = str(model_args["pretrained"]) if model_args.get("pretrained") else None
    if pretrained:
        checked_local_path(pretrained)
    if model_args.get("interventions"):
        check_interventions(str(model_args["interventions"]), model_config(pretrained))
    if flags.get("--tasks"):
        _check_task_names(flags["--tasks"], flags.get("--include_path"))


def check_interventions(spec: str, config: Optional[dict[str, Any]]) -> None:
    """Parse ``spec`` and, with the model's config, resolve it (heads in range, kinds known,
    arguments valid): the checks the model makes, without the model."""
    from harness_ext.interventions.resolver import resolve
    from harness_ext.interventions.spec import parse_spec

    parsed = parse_spec(spec, base_dir=Path.cwd())
    if config is not None:
        resolve(parsed, SimpleNamespace(**config))


def model_config(pretrained: Optional[str]) -> Optional[dict[str, Any]]:
    """The model's ``config.json`` when it is on disk (None for a Hub id: not downloaded here)."""
    if pretrained is None:
        from harness_ext.embedded import embedded_model_dir, is_converted

        folder: Optional[Path] = embedded_model_dir() if is_converted() else None
    else:
        local = Path(checked_local_path(pretrained)).expanduser()
        folder = local if local.is_dir() else None
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")) if folder else None
    except (OSError, ValueError):
        return None  # the model's own loading reports a broken folder


def _flags(argv: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg.partition("=")
            found[name] = value
        elif arg in ("--model", "--model_args", "--tasks", "--include_path"):
            found[arg] = next(args, "")
    return found


def _known_tasks(include_path: Optional[str]) -> set[str]:
    from harness_ext.lm_eval_bridge import tasks_dir

    folders = [tasks_dir()] + [Path(p) for p in (include_path or "").split(",") if p]
    names: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*.yaml") if folder.is_dir() else ():
            for task, listed in _TASK_KEYS.findall(path.read_text(encoding="utf-8")):
                names.add(task or listed)
    return names


def _check_task_names(tasks: str, include_path: Optional[str]) -> None:
    """A name that holds "sparks", or is one or two letters off a sparks task (``amc_sparkz``),
    must be a sparks task (lm-eval's own names are lm-eval's to check)."""
    asked = [name.strip() for name in tasks.split(",") if name.strip()]
    known = _known_tasks(include_path)
    for name in asked:
        if name in known or Path(name).exists():
            continue
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.85)
        if "sparks" in name or close:
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise SparksError(
                f"--tasks {name}: sparks has no task of that name{hint} (`sparks tasks` lists "
                f"them; a task of your own needs --include_path)"
            )
