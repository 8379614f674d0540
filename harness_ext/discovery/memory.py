"""Memory for long openings: gradient checkpointing during attribution.

With ``--gradient-checkpointing`` each decoder layer keeps only its input for the backward pass
and recomputes the rest there (transformers' own checkpointing, non-reentrant), so the
activations of a 2,048-token opening fit where they would not: memory per layer falls from
every intermediate to one hidden state, for about one more forward pass of time. Only the
decoder layers are put in training mode (transformers checkpoints a layer only then); their
attention and MLP submodules stay in eval mode, so no dropout runs. transformers drops a
key/value cache under checkpointing, so attribution then runs the shared prompt in full
instead of reusing its cache (:func:`is_checkpointing`). torch is imported inside functions.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["gradient_checkpointing", "is_checkpointing"]


@contextlib.contextmanager
def gradient_checkpointing(model: PreTrainedModel, enabled: bool = True) -> Iterator[None]:
    """During the block, ``model``'s decoder layers checkpoint their activations (nothing
    changes with ``enabled=False``); everything is restored on exit."""
    if not enabled:
        yield
        return
    from transformers.modeling_layers import GradientCheckpointingLayer

    layers = [m for m in model.modules() if isinstance(m, GradientCheckpointingLayer)]
    if not layers:
        from harness_ext.errors import SparksError

        raise SparksError(
            f"--gradient-checkpointing: {type(model).__name__} has no checkpointable layers; "
            "drop the flag and lower --batch-size instead"
        )
    was_on = any(layer.gradient_checkpointing for layer in layers)
    training = [layer.training for layer in layers]
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x's name
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    for layer in layers:
        layer.training = True  # the layer itself only: its submodules keep eval mode
    try:
        yield
    finally:
        for layer, mode in zip(layers, training):
            layer.training = mode
        if not was_on:
            disable = getattr(model, "activation_checkpointing_disable", None)
            (disable or model.gradient_checkpointing_disable)()


def is_checkpointing(model: PreTrainedModel) -> bool:
    """Whether ``model``'s layers checkpoint now (then a key/value cache would be dropped)."""
    return any(getattr(m, "gradient_checkpointing", False) and m.training for m in model.modules())
