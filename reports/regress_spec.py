"""The ``sparks regress`` spec file: its schema (pydantic, unknown keys refused) and its reader.

Every path in a spec (``output``, ``heads``, ``include_path``, ``metadata.data_dir`` and the
``@file`` references inside ``interventions``) resolves against the spec's own folder, never
against the working directory. Interventions are parsed when the spec is read, and the
lm_eval command gets their normalized form (heads files expanded into explicit heads), so a
run's command says exactly which heads it touches.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from harness_ext.errors import SparksError
from harness_ext.formats.task_metadata import METADATA_KEYS

__all__ = ["RegressSpec", "RunSpec", "load_spec"]

Scalar = Union[StrictBool, StrictInt, StrictFloat, str]
KeyValues = Union[str, dict[str, Scalar], None]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _RunEntry(_Strict):
    name: str
    interventions: Optional[str] = None
    model_args: KeyValues = None
    gen_kwargs: KeyValues = None
    control_for: Optional[str] = None  # the run this one is a matched random control of
    seeds: Union[StrictInt, list[StrictInt], None] = None  # a control run per seed

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: Union[int, list[int], None]) -> Optional[list[int]]:
        if value is None:
            return None
        seeds = list(range(value)) if isinstance(value, int) else value
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(
                f"'seeds' must be a count (3: seeds 0, 1, 2) or a list of distinct "
                f"non-negative seeds, not {value!r}"
            )
        return seeds

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> str:
        name = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        if not name:
            raise ValueError("every run needs a 'name'")
        if not all(c.isascii() and (c.isalnum() or c in "-_.") for c in name) or name.startswith(
            "."
        ):
            raise ValueError(f"run name {name!r} may only use letters, digits, '-', '_' and '.'")
        return name


class _SpecFile(_Strict):
    model: str = "sparks"
    model_args: KeyValues = None
    tasks: Union[str, list[str]]
    include_path: Optional[str] = None
    limit: Union[StrictInt, StrictFloat, None] = None
    gen_kwargs: KeyValues = None
    metadata: Union[str, dict[str, Any], None] = None
    batch_size: Union[StrictInt, str, None] = None
    apply_chat_template: StrictBool = False
    device: Optional[str] = None
    output: Optional[str] = None
    baseline: Optional[str] = None
    alpha: float = 0.05
    seed: int = 0
    heads: Optional[str] = None
    runs: Any  # a list of runs, or a mapping name -> settings: checked run by run (_runs)

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: Optional[float]) -> Optional[float]:
        if value is not None and value <= 0:
            raise ValueError(f"'limit' must be a positive number, not {value!r}")
        return value

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, value: float) -> float:
        if not 0 < value < 1:
            raise ValueError(f"'alpha' must be between 0 and 1, not {value!r}")
        return value

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, value: Union[str, list[str]]) -> list[str]:
        tasks = [t.strip() for t in value.split(",")] if isinstance(value, str) else value
        tasks = [t for t in tasks if t]
        if not tasks:
            raise ValueError("'tasks' must list task names, e.g. [aime24_sparks_greedy]")
        return tasks


@dataclass(frozen=True)
class RunSpec:
    """One run of a spec: a name and what it changes against the shared settings."""

    name: str
    interventions: str = ""  # normalized: heads files expanded, paths resolved
    model_args: dict[str, str] = field(default_factory=dict)
    gen_kwargs: dict[str, Any] = field(default_factory=dict)
    control_for: Optional[str] = None  # a matched random control of that run
    group: Optional[str] = None  # the spec's run name, for the seeds of one control


@dataclass(frozen=True)
class RegressSpec:
    """A checked spec with every path resolved against the spec's folder."""

    path: Path
    model: str
    model_args: dict[str, str]
    tasks: list[str]
    limit: Optional[float]
    gen_kwargs: dict[str, Any]
    metadata: dict[str, Any]
    batch_size: Optional[str]
    apply_chat_template: bool
    device: Optional[str]
    output: Path
    baseline: str
    alpha: float
    seed: int
    runs: list[RunSpec]
    heads: Optional[Path] = None
    include_path: Optional[Path] = None


def _fail(spec_path: Path, problem: str) -> SparksError:
    return SparksError(f"{spec_path}: {problem} (see docs/reports.md for the spec format)")


def load_spec(path: Path) -> RegressSpec:
    """Read and check a regress spec; every problem names the key and the fix."""
    import yaml

    if not path.is_file():
        raise SparksError(f"regress spec {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise SparksError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise _fail(path, "the spec must be a mapping with at least 'tasks' and 'runs'")
    try:
        parsed = _SpecFile.model_validate(data)
    except ValidationError as error:
        raise _fail(path, _explain(error, "the spec", list(_SpecFile.model_fields))) from None
    return _build(path, parsed)


def _explain(error: ValidationError, where: str, allowed: Sequence[str]) -> str:
    """One sentence per key: what is wrong, and for unknown keys the valid ones."""
    unknown: list[str] = []
    found: dict[str, list[str]] = {}
    inputs: dict[str, Any] = {}
    for item in error.errors():
        key = str(item["loc"][0]) if item["loc"] else where
        if item["type"] == "extra_forbidden":
            unknown.append(key)
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        found.setdefault(key, []).append(message)
        inputs.setdefault(key, item.get("input"))
    problems = []
    for key, messages in found.items():
        said = " or ".join(dict.fromkeys(messages))  # a union reports each of its branches
        if said.startswith(("'", "run name", "every run")):
            problems.append(said)
        elif said == "is required":
            problems.append(MISSING.get(key, f"'{key}' is required in {where}"))
        else:
            problems.append(f"{where}: '{key}': {said} (got {inputs[key]!r})")
    if unknown:
        hints = [difflib.get_close_matches(key, list(allowed), n=1) for key in unknown]
        guess = "; ".join(f"did you mean {h[0]!r}?" for h in hints if h)
        problems.append(
            f"unknown key(s) {', '.join(unknown)} in {where}; valid keys: "
            f"{', '.join(allowed)}" + (f" ({guess})" if guess else "")
        )
    return "; ".join(problems)


MISSING = {
    "tasks": "'tasks' must list task names, e.g. [aime24_sparks_greedy]",
    "runs": "'runs' must list at least one run, e.g. [{name: base}, {name: ablated, "
    "interventions: 'zero:L3H1'}]",
    "name": "every run needs a 'name'",
}


def _build(path: Path, parsed: _SpecFile) -> RegressSpec:
    runs = _runs(path, parsed.runs)
    names = [run.name for run in runs]
    baseline = parsed.baseline or names[0]
    if baseline not in names:
        raise _fail(path, f"baseline {baseline!r} is not one of the runs ({', '.join(names)})")
    include = _near(path, parsed.include_path)
    if include is not None and not include.is_dir():
        raise _fail(path, f"include_path {include} is not a folder (of task YAML files)")
    return RegressSpec(
        path=path,
        model=parsed.model,
        model_args=_strings(_kv(parsed.model_args, "model_args", path)),
        tasks=list(parsed.tasks),
        limit=parsed.limit,
        gen_kwargs=_kv(parsed.gen_kwargs, "gen_kwargs", path),
        metadata=_metadata(parsed.metadata, path),
        batch_size=str(parsed.batch_size) if parsed.batch_size is not None else None,
        apply_chat_template=parsed.apply_chat_template,
        device=parsed.device,
        output=_near(path, parsed.output) or path.parent / f"{path.stem}-out",
        baseline=baseline,
        alpha=parsed.alpha,
        seed=parsed.seed,
        runs=runs,
        heads=_near(path, parsed.heads),
        include_path=include,
    )


def _runs(path: Path, value: Any) -> list[RunSpec]:
    if isinstance(value, Mapping):  # name: {settings}
        value = [
            {"name": name, **(settings or {})}
            if settings is None or isinstance(settings, Mapping)
            else {"name": name, "settings": settings}
            for name, settings in value.items()
        ]
    if not isinstance(value, list) or not value:
        raise _fail(path, MISSING["runs"])
    runs = [run for index, item in enumerate(value) for run in _run(path, index, item)]
    names = [run.name for run in runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(path, f"run name(s) {', '.join(duplicates)} used twice")
    controlled = {run.name: run for run in runs}
    for run in runs:
        target = controlled.get(run.control_for or "")
        if run.control_for and (target is None or target.control_for):
            raise _fail(
                path,
                f"run {run.group or run.name!r}: control_for {run.control_for!r} "
                f"must name one of the other runs that is not a control itself "
                f"({', '.join(r.name for r in runs if not r.control_for)})",
            )
    return runs


def _run(path: Path, index: int, item: Any) -> list[RunSpec]:
    if not isinstance(item, Mapping):
        raise _fail(path, f"run {index + 1} must be a mapping such as {{name: base}}, not {item!r}")
    where = f"run {item['name']!r}" if item.get("name") else f"run {index + 1}"
    try:
        entry = _RunEntry.model_validate(dict(item))
    except ValidationError as error:
        raise _fail(path, _explain(error, where, list(_RunEntry.model_fields))) from None
    model_args = _strings(_kv(entry.model_args, "model_args", path))
    gen_kwargs = _kv(entry.gen_kwargs, "gen_kwargs", path)
    if entry.seeds is None:
        return [
            RunSpec(
                entry.name,
                _interventions(path, entry.name, entry.interventions),
                model_args,
                gen_kwargs,
                entry.control_for,
                entry.name if entry.control_for else None,
            )
        ]
    spec = entry.interventions or ""
    # the validator made a count a list of seeds; the field's type still admits the count
    seeds = entry.seeds if isinstance(entry.seeds, list) else list(range(entry.seeds))
    if not entry.control_for or not spec.startswith("random:"):
        raise _fail(
            path,
            f"run {entry.name!r}: 'seeds' makes one control run per seed; it "
            f"needs 'control_for: RUN' and interventions of the random kind, "
            f"e.g. random:@heads.json#5",
        )
    return [
        RunSpec(
            f"{entry.name}-s{seed}",
            _interventions(path, entry.name, with_seed(spec, seed)),
            model_args,
            gen_kwargs,
            entry.control_for,
            entry.name,
        )
        for seed in seeds
    ]


def with_seed(spec: str, seed: int) -> str:
    """``random:REF[:SEED[:KIND...]]`` with its SEED field set to ``seed``."""
    parts = spec.strip().split(":")
    return ":".join([parts[0], parts[1], str(seed), *parts[3:]])


def _interventions(path: Path, name: str, text: Optional[str]) -> str:
    """The normalized spec: ``@file`` read relative to the spec's folder, heads made explicit."""
    from harness_ext.formats.spec import SpecError, parse_spec

    if text is None or not text.strip():
        return ""
    if "," in text or "=" in text:
        raise _fail(
            path,
            f"run {name!r}: interventions {text!r} may not contain ',' or '=' "
            f"(join items with ';')",
        )
    try:
        normalized = parse_spec(text, base_dir=path.parent).normalized()
    except SpecError as error:
        raise _fail(path, f"run {name!r}: interventions: {error}") from None
    if "," in normalized or "=" in normalized:
        raise _fail(
            path,
            f"run {name!r}: the interventions read from {text!r} contain ',' or "
            f"'=', which lm-eval's --model_args cannot carry",
        )
    return normalized


def _metadata(value: Union[str, dict[str, Any], None], path: Path) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise _fail(
                path,
                f"'metadata' is not valid JSON ({error.msg} at character "
                f"{error.pos}); write it as a mapping, e.g. metadata: "
                f"{{repeats: 4}}",
            ) from None
        if not isinstance(value, dict):
            raise _fail(path, f"'metadata' must be a mapping, e.g. {{repeats: 4}}, not {value!r}")
    metadata = dict(value or {})
    for key in metadata:
        if key not in METADATA_KEYS:
            hint = difflib.get_close_matches(key, METADATA_KEYS, n=1)
            raise _fail(
                path,
                f"unknown metadata key {key!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; the sparks tasks read {', '.join(METADATA_KEYS)}",
            )
    if "data_dir" in metadata:
        if not isinstance(metadata["data_dir"], str) or not metadata["data_dir"]:
            raise _fail(
                path, f"metadata data_dir must be a folder name, not {metadata['data_dir']!r}"
            )
        metadata["data_dir"] = str(_near(path, metadata["data_dir"]))
    return metadata


def _kv(value: KeyValues, what: str, spec_path: Path) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    result: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        if "=" not in part:
            raise _fail(spec_path, f"{what}: {part!r} is not key=value")
        key, item = part.split("=", 1)
        result[key.strip()] = item.strip()
    return result


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {key: _text(value) for key, value in values.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _near(spec_path: Path, value: Optional[str]) -> Optional[Path]:
    """A path from the spec, relative to the spec's folder."""
    if not value:
        return None
    found = Path(value).expanduser()
    return found if found.is_absolute() else spec_path.parent / found
