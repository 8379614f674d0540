"""Checks that ``sparks eval``, ``sparks regress`` and ``sparks fold`` make before lm-eval,
torch or a model loads, so that a mistake is reported in about a second, not after the
start-up (10-20 s).

What is checked early: the intervention spec (its grammar, its kinds and arguments, and its
heads against the model's ``config.json`` when that file is on disk: the embedded model once
converted, a local folder, or a Hub id's config already in the local Hub cache, read without
any network; a Hub id that is not cached is checked when lm-eval loads it), a ``pretrained``
that names a local folder, and the names in ``--tasks`` that look like sparks' own (they hold
"sparks"; the tasks of ``--include_path`` count too). ``sparks regress`` also gets its spec
read and checked (keys, values, paths: ``heads``, ``metadata.data_dir``) and every run's
interventions checked. Other task names are lm-eval's to check: it does so once it has read
its task index (``sparks regress`` asks it before the first run), before any model loads.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional, Sequence

from harness_ext.errors import SparksError
from harness_ext.local_paths import checked_local_path, looks_local
from harness_ext.model_args import parse_model_args

if TYPE_CHECKING:
    from harness_ext.reports.regress_spec import RegressSpec

__all__ = [
    "check_eval_args",
    "check_interventions",
    "check_regress_spec",
    "model_config",
]

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
        config = model_config(pretrained, model_args.get("revision"))
        check_interventions(str(model_args["interventions"]), config)
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


def check_regress_spec(spec: "RegressSpec") -> None:
    """Raise :class:`SparksError` for a mistake in a read regress spec that would otherwise
    show only when a run starts (or after all of them): sparks' own task names, the local
    paths, and every run's interventions against the model's config."""
    if spec.model in SPARKS_MODELS:
        include = str(spec.include_path) if spec.include_path is not None else None
        where = (f"{spec.path}: tasks:", "'include_path:' in the spec")
        _check_task_names(",".join(spec.tasks), include, where)
    if spec.heads is not None and not spec.heads.is_file():
        raise SparksError(
            f"{spec.path}: heads {spec.heads} does not exist (a heads file of `sparks "
            f"discover`; the path is relative to the spec's folder)"
        )
    data_dir = spec.metadata.get("data_dir")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise SparksError(
            f"{spec.path}: metadata data_dir {data_dir} is not a folder (the path is relative "
            f"to the spec's folder)"
        )
    configs: dict[tuple[Optional[str], Optional[str]], Optional[dict[str, Any]]] = {}
    for run in spec.runs:
        model_args = {**spec.model_args, **run.model_args}
        pretrained, revision = model_args.get("pretrained"), model_args.get("revision")
        try:
            if pretrained:
                checked_local_path(pretrained)
            if run.interventions and spec.model in SPARKS_MODELS:
                if (pretrained, revision) not in configs:
                    configs[pretrained, revision] = model_config(pretrained, revision)
                check_interventions(run.interventions, configs[pretrained, revision])
        except SparksError as error:
            raise SparksError(f"{spec.path}: run {run.name!r}: {error}") from None


def model_config(
    pretrained: Optional[str], revision: Optional[str] = None
) -> Optional[dict[str, Any]]:
    """The model's ``config.json`` when it is on disk: the embedded model's, a local folder's,
    or a Hub id's in the local Hub cache (None otherwise: nothing is downloaded here)."""
    if pretrained is None:
        from harness_ext.embedded import embedded_model_dir, is_converted

        path: Optional[Path] = embedded_model_dir() / "config.json" if is_converted() else None
    elif looks_local(pretrained) or Path(pretrained).expanduser().is_dir():
        local = Path(checked_local_path(pretrained)).expanduser()
        path = local / "config.json" if local.is_dir() else None
    else:
        path = _cached_hub_config(pretrained, revision)
    try:
        config = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None  # the model's own loading reports a broken folder
    return config if isinstance(config, dict) else None


def _cached_hub_config(repo_id: str, revision: Optional[str]) -> Optional[Path]:
    """A Hub model's ``config.json`` from the local Hub cache only (huggingface_hub's own
    lookup: no network, no download); None when it is not cached."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    except Exception:  # noqa: BLE001 - an odd id or cache is the model loading's to report
        return None
    return Path(found) if isinstance(found, str) else None


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


def _check_task_names(
    tasks: str,
    include_path: Optional[str],
    where: tuple[str, str] = ("--tasks", "--include_path"),
) -> None:
    """A name that holds "sparks", or is one or two letters off a sparks task (``amc_sparkz``),
    must be a sparks task (lm-eval's own names are lm-eval's to check). ``where`` names the
    tasks and the include path as the user wrote them (flags, or a spec's keys)."""
    asked = [name.strip() for name in tasks.split(",") if name.strip()]
    known = _known_tasks(include_path)
    for name in asked:
        if name in known or Path(name).exists():
            continue
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.85)
        if "sparks" in name or close:
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise SparksError(
                f"{where[0]} {name}: sparks has no task of that name{hint} (`sparks tasks` "
                f"lists them; a task of your own needs {where[1]})"
            )
