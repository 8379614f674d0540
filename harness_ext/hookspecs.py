"""Every hook a sparks plugin can implement. The docstrings here are the plugin documentation.

A plugin is a module (or object) with functions decorated by ``@harness_ext.hookimpl`` whose
names match a hook below. Installed packages announce plugins with an entry point in the
``harness_ext`` group; see docs/plugins.md. An implementation may take fewer arguments than
its spec (so hooks can gain arguments later), and hooks are always called with keywords.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from pluggy import HookimplMarker, HookspecMarker

from harness_ext.labeling import Diagnosis, Labeler, LabelerResult, LabelSample

if TYPE_CHECKING:
    from pyvene import Intervention

__all__ = [
    "Diagnosis",
    "InterventionFactory",
    "LabelSample",
    "Labeler",
    "LabelerResult",
    "hookimpl",
    "hookspec",
    "register_interventions",
    "register_labelers",
]

hookspec = HookspecMarker("harness_ext")
hookimpl = HookimplMarker("harness_ext")  # re-exported as harness_ext.hookimpl

InterventionFactory = Callable[..., "Intervention"]
"""``factory(*args: str) -> pyvene.Intervention``; its docstring is the user-facing help."""


@hookspec
def register_interventions(register: Callable[[str, InterventionFactory], None]) -> None:
    """Offer intervention kinds by name, for specs such as ``NAME:L12H3+L14H7:ARG``.

    Called whenever a spec is resolved (before any model work) and by ``sparks plugins``.
    Call ``register(name, factory)`` once per kind; a name registered by two plugins is an
    error that names both.

    ``factory(*args: str)`` receives the ``ARG`` strings of ``NAME:HEADS:ARG...`` and returns a
    pyvene intervention (an instance of a ``pyvene.Intervention`` subclass, usually
    ``harness_ext.interventions.base.HeadIntervention``). It is called once per layer that the
    item touches, so per-layer state is natural. It should raise ``ValueError`` with a short
    reason for bad arguments; sparks adds the plugin name and the usage derived from the
    factory's signature. Its docstring is the help shown by ``sparks plugins``.

    Tensor contract: the intervention's ``forward(base, source=None, subspaces=None)`` gets
    ``base`` of shape ``[batch, seq, n_heads, head_dim]``: the outputs of the item's selected
    query heads in that layer (slices ``[h*head_dim:(h+1)*head_dim]`` of the input of
    ``self_attn.o_proj``, in ascending head order, in the model's dtype and device). It returns
    a tensor of the same shape that replaces them (``base`` is a view of the layer's ``o_proj``
    input or a copy of the selected slices, so editing it in place and returning it is fine). It is called on every forward pass: the
    prompt (``seq`` = prompt length, left padding included) and each generated token
    (``seq`` = 1 with the KV cache). Before the first call the runtime sets
    ``intervention.site`` (layer and heads).

    Optional attributes: ``fold_scale`` (a float: the intervention multiplies every selected
    head's output by it, so the runtime may fold it into ``o_proj``'s weight columns instead)
    and ``calibrate(reference)`` (called once before use with the selected heads' outputs on
    sparks' reference prompts, ``[n_tokens, n_heads, head_dim]``).

    On vLLM (``--model sparks-vllm``, docs/vllm.md) ``base`` is ``[1, num_tokens, n_heads,
    head_dim]``: one flat batch mixing the prefill and decode tokens of many requests, with no
    request or position axis. A kind runs there only when it acts on each token alone
    (``fold_scale`` set, or the class attribute ``token_wise = True``; others are refused
    before the engine starts) and its ``forward`` traces under torch.compile (tensor ops, no
    ``.item()``, no Python side effects, no ``torch.Generator``). Random draws go through an
    optional ``forward_step(base, step)`` (``step``: a 0-d int64 tensor counting the layer's
    steps), called there instead of ``forward``. ``calibrate`` runs before the engine starts.
    """


@hookspec
def register_labelers(register: Callable[[str, Labeler], None]) -> None:
    """Offer failure labelers by name, used when reports label failed responses.

    Called when labelers are listed (``sparks plugins``, report generation). Call
    ``register(name, labeler)`` once per labeler; a name registered by two plugins is an error
    that names both.

    ``labeler(sample)`` gets one response as a :class:`~harness_ext.labeling.LabelSample` (a
    typed dict): what lm-eval logs for the problem, narrowed to this response, plus keys such
    as ``response``, ``answer``, ``gold``, ``correct`` and ``truncated`` (the class lists them
    all). It returns None when it does not apply, else a label string such as
    ``"logical_loop"`` or a :class:`~harness_ext.labeling.Diagnosis` (label, evidence span,
    note; also importable from ``harness_ext.reports``). It must not modify
    the sample. An optional ``order`` attribute places it in the label order. Its docstring is
    the help shown by ``sparks plugins``.
    """
