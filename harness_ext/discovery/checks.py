"""The argument checks of ``sparks discover``: every bad flag or combination is refused with a
:class:`SparksError` naming the fix, before any data or model is loaded."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from harness_ext.errors import SparksError

__all__ = [
    "DEFAULT_MASS",
    "DEFAULT_SHARE",
    "check_args",
    "check_models",
    "circuit_choice",
    "template_args",
]

DEFAULT_SHARE = 0.1  # --circuit-size of one model against its base (the original default)
DEFAULT_MASS = 0.8  # --circuit-mass where circuit sizes are compared (thinking on/off, checkpoints)


def check_args(args: argparse.Namespace) -> None:
    """Refuse bad values and combinations of ``sparks discover``'s flags."""
    _check_numbers(args)
    _check_circuit(args)
    _check_inputs(args)
    _check_thinking(args)
    if not args.checkpoints and (args.rewards or args.reward_key or args.reward_window):
        raise SparksError(
            "--rewards, --reward-key and --reward-window go with --checkpoints (the "
            "reward of each checkpoint); drop them or pass --checkpoints A B C"
        )
    variant = args.ig_over != "activations" or args.position_abs
    if variant and (args.method != "eap-ig" or args.edges):
        raise SparksError(
            "--ig-over inputs and --position-abs are variants of node-level --method eap-ig; "
            "add --method eap-ig (without --edges), or drop them"
        )
    if Path(args.output).is_dir():
        raise SparksError(
            f"-o {args.output} is a folder; give a file name such as {args.output}/heads.json"
        )
    if Path(args.output).suffix.lower() == ".png":
        raise SparksError(
            f"-o {args.output}: the heat map goes beside the heads file as .png; "
            "give a .json name such as heads.json"
        )


def circuit_choice(args: argparse.Namespace) -> tuple[str, float]:
    """The circuit definition asked for: ``("size", count or share)``, ``("mass", share)`` or
    ``("edges", 0.0)`` (the edge flags give that one's settings). Without a flag: the top 10% of
    heads, except with --compare-thinking or --checkpoints, whose point is circuits that grow
    and shrink: --circuit-mass 0.8 there."""
    given = [
        (kind, value)
        for kind, value, on in (
            ("size", args.circuit_size, args.circuit_size is not None),
            ("mass", args.circuit_mass, args.circuit_mass is not None),
            ("edges", 0.0, args.circuit_edges),
        )
        if on
    ]
    if len(given) > 1:
        raise SparksError(
            "give one circuit definition: --circuit-size, --circuit-mass or --circuit-edges"
        )
    if given:
        return given[0]
    return (
        ("mass", DEFAULT_MASS)
        if args.compare_thinking or args.checkpoints
        else ("size", DEFAULT_SHARE)
    )


def template_args(text: str | None, flag: str) -> dict[str, Any] | None:
    """``--chat-template-args``-style JSON as a dict (None when not given)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise SparksError(
            f"{flag} {text!r} is not valid JSON ({error.msg}); give an object such as "
            "'{\"enable_thinking\": false}'"
        ) from None
    if not isinstance(value, dict):
        raise SparksError(
            f"{flag} {text!r}: give a JSON object of template variables, such as "
            "'{\"enable_thinking\": false}'"
        )
    return value


def _check_numbers(args: argparse.Namespace) -> None:
    if args.ig_steps < 1:
        raise SparksError(f"--ig-steps {args.ig_steps}: give at least 1 (5 is the usual)")
    if args.edges and args.method not in (None, "eap-ig"):
        raise SparksError("--edges works with --method eap-ig (edge scores are EAP-IG's)")
    if args.top_edges < 1 or not 0 <= args.edge_threshold <= 1:
        raise SparksError("--top-edges must be >= 1 and --edge-threshold between 0 and 1")
    if args.batch_size < 1:
        raise SparksError(f"--batch-size {args.batch_size}: give at least 1")
    if args.opening_tokens < 1:
        raise SparksError(f"--opening-tokens {args.opening_tokens}: give at least 1")
    if args.limit is not None and args.limit < 1:
        raise SparksError(f"--limit {args.limit}: give at least 1 problem")
    if args.bootstrap < 0 or args.bootstrap == 1:
        raise SparksError(
            f"--bootstrap {args.bootstrap}: give 0 (none) or at least 2 resamples (100 is usual)"
        )
    if args.bootstrap and args.circuit_edges:
        raise SparksError(
            "--bootstrap resamples head importance; it does not work with --circuit-edges "
            "(use --circuit-size or --circuit-mass)"
        )


def _check_circuit(args: argparse.Namespace) -> None:
    kind, value = circuit_choice(args)
    if kind == "size" and (
        not math.isfinite(value) or value <= 0 or (value >= 1 and value != int(value))
    ):
        raise SparksError(
            f"--circuit-size {value:g}: give a whole number of heads (>= 1) or a "
            "share of all heads below 1 (0.1 = 10%)"
        )
    if kind == "mass" and not (math.isfinite(value) and 0 < value <= 1):
        raise SparksError(
            f"--circuit-mass {value:g}: give a share of the total importance, more "
            "than 0 and at most 1 (0.8 = the heads carrying 80%)"
        )
    if kind == "edges" and not args.edges:
        raise SparksError("--circuit-edges takes the heads on the kept edges; add --edges")
    if kind == "size" and args.compare_thinking and args.circuit_size is not None:
        raise SparksError(
            "--compare-thinking compares the sizes of the two circuits, and "
            "--circuit-size makes them equal; use --circuit-mass (default 0.8)"
        )


def _check_inputs(args: argparse.Namespace) -> None:
    if args.corrupt == "base" and not (args.base or args.compare_thinking):
        raise SparksError("--corrupt base needs --base BASE; or use --corrupt next or zeros")
    if args.checkpoints and args.samples:
        raise SparksError("--samples holds one model's responses; it cannot serve --checkpoints")
    if args.checkpoints and args.model:
        raise SparksError(
            "give either --model POST or --checkpoints A B C (the checkpoints are the "
            "post-trained models), not both"
        )
    template_args(args.chat_template_args, "--chat-template-args")
    if (
        template_args(args.base_chat_template_args, "--base-chat-template-args") is not None
        and not args.base
    ):
        raise SparksError("--base-chat-template-args is for BASE's prompts; add --base BASE")


def _check_thinking(args: argparse.Namespace) -> None:
    if not args.compare_thinking:
        return
    clash = next(
        (
            flag
            for flag, on in (
                ("--base", args.base),
                ("--checkpoints", args.checkpoints),
                ("--samples", args.samples),
            )
            if on
        ),
        None,
    )
    if clash:
        raise SparksError(
            f"--compare-thinking pairs --model with itself (thinking on and off); "
            f"it cannot take {clash}"
        )
    if "enable_thinking" in (template_args(args.chat_template_args, "--chat-template-args") or {}):
        raise SparksError(
            "--compare-thinking sets enable_thinking itself (on, then off); remove it "
            "from --chat-template-args"
        )


def check_models(args: argparse.Namespace) -> None:
    """Every model named (``--model``, each of ``--checkpoints``, ``--base``) has a readable
    config, and all are of one architecture, before any weights load: a checkpoint folder
    that is missing or holds no model is refused by name, and so is a base of another
    ``model_type`` even when its layers and heads match (its heads are not the same heads)."""
    from transformers import AutoConfig

    from harness_ext.embedded import embedded_model_path

    named = [("--checkpoints", name) for name in args.checkpoints or ()]
    if not args.checkpoints:
        named.append(("--model", args.model))
    if args.base:
        named.append(("--base", args.base))
    types = []
    for flag, name in named:
        path = str(embedded_model_path()) if name is None else name
        if name is not None and _looks_local(name) and not Path(name).is_dir():
            raise SparksError(f"{flag} {name}: no such folder; give a model folder or a Hub id")
        try:
            config = AutoConfig.from_pretrained(path)
        except (OSError, ValueError) as error:
            raise SparksError(
                f"{flag} {name}: no model config could be read ({str(error)[:160]}); give a "
                "folder saved with save_pretrained (config.json and weights) or a Hub id"
            ) from None
        types.append((flag, name or "the embedded model", getattr(config, "model_type", None)))
    if len({kind for _, _, kind in types}) > 1:
        listed = ", ".join(f"{flag} {name}: {kind}" for flag, name, kind in types)
        raise SparksError(
            f"the models are of different architectures ({listed}); discovery compares the "
            "same heads in models of one architecture (a base and its post-trained descendants)"
        )


def _looks_local(name: str) -> bool:
    """A name that can only be a folder: it exists, is absolute or relative (``./``, ``../``,
    ``~``), or has more than one ``/`` (a Hub id is ``org/name``)."""
    return (
        Path(name).exists()
        or name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or "\\" in name
    )
