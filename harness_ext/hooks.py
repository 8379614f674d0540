"""The one way sparks edits or captures what a module receives: :func:`input_hooks`.

In the manner of lm-eval's ``hf_steered.steer()`` (which edits module outputs), a context
manager maps module paths to functions of the module's input::

    with input_hooks(model, {"model.layers.3.self_attn.o_proj": fn}):
        model.generate(...)

For the block, each named module calls ``fn(x)`` on its first positional input ``x`` before it
runs. A tensor returned replaces ``x``; ``None`` leaves the input as it is (a capture, or an edit
made in place). The hooks are removed on exit, also after an error.

Its uses, all on the input of a module: the head interventions (each intervened layer's
``self_attn.o_proj``, :mod:`harness_ext.interventions.runtime`), the reference activations of
``mean`` (captured from ``o_proj``, :mod:`harness_ext.interventions.reference`) and discovery's
attribution (``o_proj`` inputs captured and patched, and the norms that read the residual
stream captured, :mod:`harness_ext.discovery.attribution`). The independent ground truth that the
exactness tests compare interventions with, :func:`harness_ext.testing.reference_hook`, is a
separate plain hook on purpose.

torch is not imported here; the model brings it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional

from harness_ext.errors import SparksError

if TYPE_CHECKING:
    import torch

__all__ = ["InputFn", "add_input_hook", "count_calls", "input_hooks"]

InputFn = Callable[["torch.Tensor"], Optional["torch.Tensor"]]
"""``fn(x)``: ``x`` is the module's first positional input; return its replacement, or None."""


@contextlib.contextmanager
def input_hooks(model: torch.nn.Module, fns: Mapping[str, InputFn]) -> Iterator[None]:
    """Call ``fns[path](x)`` on the first positional input ``x`` of each module ``path`` of
    ``model`` (as ``model.get_submodule`` reads it) during the block; a returned tensor
    replaces ``x``, None keeps it. Every path is checked before any hook is added: a path that
    names no module raises :class:`~harness_ext.errors.SparksError` naming it. A module called
    without a positional input raises ``TypeError``. Hooks are removed on exit."""
    modules = []
    for path, fn in fns.items():
        try:
            modules.append((path, model.get_submodule(path), fn))
        except AttributeError:
            raise SparksError(
                f"{type(model).__name__} has no module {path!r}: its architecture "
                f"mapping (harness_ext.interventions.arch) does not fit this "
                f"model"
            ) from None
    handles = []
    try:
        for path, module, fn in modules:
            handles.append(add_input_hook(module, fn, path))
        yield
    finally:
        for handle in handles:
            handle.remove()


def add_input_hook(module: torch.nn.Module, fn: InputFn, path: str = "module") -> Any:
    """The hook of :func:`input_hooks` on one module, kept until its handle's ``remove()``:
    for a model that lives as long as its engine (the vLLM worker installs it before the
    compile warm-up, so that the compiled graph contains it)."""
    return module.register_forward_pre_hook(_pre_hook(path, fn))


@contextlib.contextmanager
def count_calls(module: torch.nn.Module, calls: Optional[list[int]] = None) -> Iterator[list[int]]:
    """Count the calls of ``module`` during the block (however it is called) in the yielded
    list's one item, ``calls`` when given (to add up several blocks): the forward passes that a
    run's applied-step record compares with."""
    calls = [0] if calls is None else calls

    def count(_module: Any, _args: tuple[Any, ...]) -> None:
        calls[0] += 1

    handle = module.register_forward_pre_hook(count)
    try:
        yield calls
    finally:
        handle.remove()


def _pre_hook(path: str, fn: InputFn) -> Callable[[Any, tuple[Any, ...]], tuple[Any, ...] | None]:
    def hook(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not args:
            raise TypeError(
                f"{path} was called without a positional input; input_hooks edits "
                f"the first positional argument only"
            )
        replaced = fn(args[0])
        if replaced is None:
            return None
        return (replaced, *args[1:])

    return hook
