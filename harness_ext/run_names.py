"""What a ``sparks`` run is called: its results folder, cache tag and the config it was drawn for.

lm-eval names the results folder from ``model_args`` (:func:`results_names`, applied by
:func:`harness_ext.lm_eval_patches.name_results_folder`); ``--use_cache`` files carry the
:func:`spec_digest` of the interventions. A random control is drawn once, by the model
(:func:`remember_draw`); the folder is named after that draw.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from harness_ext.errors import SparksError
from harness_ext.local_paths import checked_local_path
from harness_ext.model_args import parse_model_args

__all__ = ["load_config", "remember_draw", "results_names", "spec_digest"]

logger = logging.getLogger(__name__)
# The concrete spec each random control was drawn into in this process, keyed by what was
# asked (the interventions text and pretrained as given): lm-eval asks for the results folder
# name once the model is built (lm_eval_patches.name_results_folder), and the name must be
# that of the model's own draw, not of a second one.
_DRAWN: dict[tuple[str, str], str] = {}


def spec_digest(normalized: str) -> str:
    """A short digest of a normalized spec: names cache files and result folders."""
    return hashlib.sha256(normalized.encode()).hexdigest()[:12]


def results_names(
    model_args: str | dict | None, found: str | None, backend: str = "hf"
) -> tuple[str, str]:
    """The model name and folder name lm-eval records for a ``sparks`` (or ``sparks-vllm``) run.

    ``found`` is the name lm-eval derived from ``model_args`` (``pretrained=``, ...), or None,
    for which lm-eval would draw a "random" name from its seeded generator (the same for every
    run). The name is then the embedded model's; a ``sparks-vllm`` run (``backend="vllm"``)
    adds ``__vllm``; the folder adds ``__sparks-<digest>`` when
    there are interventions, so a baseline and an ablated run never share a folder. The digest
    is that of the concrete spec the model runs (a random control drawn for the model's config).
    """
    from lm_eval.utils import sanitize_model_name

    from harness_ext.embedded import MODEL_NAME

    args = parse_model_args(model_args)
    name = found or MODEL_NAME
    folder = sanitize_model_name(name)
    if backend == "vllm":  # a vLLM run never shares a folder with a transformers run
        folder += "__vllm"
    text = args.get("interventions")
    if text is not None and str(text).strip():
        folder += f"__sparks-{spec_digest(_normalized_or_text(str(text), args))}"
    return name, folder


def remember_draw(text: object, pretrained: object, concrete: str) -> None:
    """Record that the spec ``text``, asked of the model ``pretrained`` (as given), was drawn
    into ``concrete``: :func:`results_names` names the run after this draw."""
    _DRAWN[_draw_key(text, pretrained)] = concrete


def _draw_key(text: object, pretrained: object) -> tuple[str, str]:
    """What a random control was drawn for: the spec text and the model as given."""
    if pretrained is None:
        who = ""
    elif isinstance(pretrained, (str, int, float)):
        who = str(pretrained)
    else:  # a model object (simple_evaluate's model_args may hold one)
        who = f"object:{id(pretrained)}"
    return str(text).strip(), who


def _normalized_or_text(text: str, args: dict[str, Any]) -> str:
    """The concrete normalized spec of a run's model_args (``text`` itself when unreadable):
    the model's own draw of a random control when this process built the model, else drawn
    here (the same draw: a control's seed is part of its spec)."""
    drawn = _DRAWN.get(_draw_key(text, args.get("pretrained")))
    if drawn is not None:
        return drawn
    from harness_ext.interventions.spec import parse_spec

    try:
        spec = parse_spec(text)
        if spec.control is not None:
            from harness_ext.interventions import expand_controls

            spec = expand_controls(spec, _run_config(args)).spec
        return spec.normalized()
    except SparksError:  # the model parsed it moments ago; a heads file changed since?
        return text.strip()
    except Exception as error:  # the config could not be read again: keep the spec's own form
        logger.warning(
            "sparks: could not draw the random control again to name the results "
            "folder (%s); the folder is named after the spec as given",
            error,
        )
        return parse_spec(text).normalized()


def _run_config(args: dict[str, Any]) -> Any:
    """The model config of a run's model_args: ``pretrained`` (a path, Hub id or model object)
    or, without it, the embedded model's."""
    pretrained = args.get("pretrained")
    if pretrained is not None and not isinstance(pretrained, str):
        return pretrained.config
    if pretrained is None:
        from harness_ext.embedded import embedded_model_path

        pretrained = str(embedded_model_path())
    return load_config(checked_local_path(pretrained), args)


def load_config(pretrained: str, hflm_args: dict[str, Any]) -> Any:
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(
        pretrained,
        revision=hflm_args.get("revision") or "main",
        subfolder=hflm_args.get("subfolder") or "",
        trust_remote_code=bool(hflm_args.get("trust_remote_code", False)),
    )
