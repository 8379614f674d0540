"""Turn a spec into concrete interventions for one model, checking everything before model work."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness_ext.formats.arch import ModelShape, get_arch
from harness_ext.formats.spec import (
    InterventionItem,
    InterventionSpec,
    SpecError,
    caret_message,
    parse_spec,
)
from harness_ext.interventions.controls import Expanded, expand
from harness_ext.plugins import PluginError, Registered, get_registered_interventions, usage

if TYPE_CHECKING:
    from pyvene import Intervention

__all__ = ["ResolvedIntervention", "expand_controls", "resolve"]


@dataclass(frozen=True, eq=False)
class ResolvedIntervention:
    """One spec item on one layer: the plugin's intervention instance and where it acts."""

    name: str
    plugin: str
    args: tuple[str, ...]
    layer: int
    heads: tuple[int, ...]
    head_dim: int
    n_heads: int
    o_proj: str  # module path of the layer's attention output projection
    intervention: Intervention

    @property
    def fold_scale(self) -> float | None:
        """The constant each head's output is multiplied by, when the intervention declares one."""
        value = getattr(self.intervention, "fold_scale", None)
        return (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None
        )

    def __str__(self) -> str:
        return ":".join([self.name, "+".join(f"L{self.layer}H{h}" for h in self.heads), *self.args])


def resolve(spec: InterventionSpec | str, config: Any) -> list[ResolvedIntervention]:
    """Check ``spec`` against a Hugging Face ``config`` and create its interventions.

    A random control is drawn first (:func:`expand_controls`). Raises :class:`SpecError` (bad
    spec, unknown name, head out of range, bad arguments, too few heads to draw) or
    :class:`PluginError` (a plugin failed) before anything touches the model.
    """
    spec = expand_controls(spec, config).spec
    arch = get_arch(config)
    shape = arch.shape(config)
    registry = get_registered_interventions()
    for item in spec.items:
        _check_heads(item, shape, spec.text)
        _check_args(item, registry, spec.text)
    resolved = []
    for item in spec.items:
        entry = registry[item.name]
        for layer, heads in _by_layer(item, shape).items():
            intervention = _create(entry, item, layer, heads, shape, spec.text)
            resolved.append(
                ResolvedIntervention(
                    name=item.name,
                    plugin=entry.plugin,
                    args=item.args,
                    layer=layer,
                    heads=heads,
                    head_dim=shape.head_dim,
                    n_heads=shape.n_heads,
                    o_proj=arch.o_proj_path(layer),
                    intervention=intervention,
                )
            )
    return resolved


def expand_controls(spec: InterventionSpec | str, config: Any) -> Expanded:
    """``spec`` with its random control (``random:...``) drawn for this model's shape, as a
    concrete item of its KIND, plus the control's record; a spec without one is returned as is."""
    if isinstance(spec, str):
        spec = parse_spec(spec)
    if spec.control is None:
        return Expanded(spec)
    shape = get_arch(config).shape(config)
    for item in spec.items:  # the reference set too: it must exist in this model
        _check_heads(item, shape, spec.text)
    return expand(spec, shape, get_registered_interventions())


def _check_heads(item: InterventionItem, shape: ModelShape, text: str) -> None:
    for ref in item.heads:
        if ref.layer >= shape.n_layers:
            problem = f"layer {ref.layer} out of range in {ref}: this model has {shape}"
        elif ref.head is not None and ref.head >= shape.n_heads:
            problem = f"head {ref.head} out of range in {ref}: this model has {shape}"
        else:
            continue
        raise SpecError(caret_message(problem, text, ref.pos, hint=""))


def _check_args(item: InterventionItem, registry: dict[str, Registered], text: str) -> None:
    entry = registry.get(item.name)
    if entry is None:
        known = "; ".join(f"{name} (from {registry[name].plugin})" for name in sorted(registry))
        raise SpecError(
            caret_message(
                f"unknown intervention {item.name!r}; known: {known or 'none'}",
                text,
                item.pos,
                hint="`sparks plugins` lists them with their help; install a plugin for others",
            )
        )
    try:
        inspect.signature(entry.obj).bind(*item.args)
    except TypeError:
        count = f"{len(item.args)} argument{'s' if len(item.args) != 1 else ''}"
        raise SpecError(
            caret_message(
                f"{item.name!r} got {count} {list(item.args)}; expected {usage(item.name, entry.obj)}",
                text,
                item.pos,
                hint="",
            )
        ) from None
    except ValueError:  # no signature available (a builtin callable): the factory will check
        pass


def _by_layer(item: InterventionItem, shape: ModelShape) -> dict[int, tuple[int, ...]]:
    layers: dict[int, set[int]] = {}
    for ref in item.heads:
        heads = range(shape.n_heads) if ref.head is None else (ref.head,)
        layers.setdefault(ref.layer, set()).update(heads)
    return {layer: tuple(sorted(heads)) for layer, heads in sorted(layers.items())}


def _create(
    entry: Registered,
    item: InterventionItem,
    layer: int,
    heads: tuple[int, ...],
    shape: ModelShape,
    text: str,
) -> Intervention:
    from harness_ext.interventions.base import HeadSite, pyvene

    try:
        intervention = entry.obj(*item.args)
    except (ValueError, TypeError) as error:
        raise SpecError(
            caret_message(
                f"bad arguments for {item.name!r} (plugin {entry.plugin!r}): {error}; expected "
                f"{usage(item.name, entry.obj)}",
                text,
                item.pos,
                hint="",
            )
        ) from None
    except Exception as error:
        raise PluginError(
            f"intervention {item.name!r} from plugin {entry.plugin!r} failed to "
            f"start with arguments {list(item.args)}: {type(error).__name__}: {error}"
        ) from None
    if not isinstance(intervention, pyvene.Intervention):
        raise PluginError(
            f"intervention {item.name!r} from plugin {entry.plugin!r} returned "
            f"{type(intervention).__name__}, not a pyvene.Intervention"
        )
    intervention.site = HeadSite(layer, heads, shape.head_dim)
    return intervention
