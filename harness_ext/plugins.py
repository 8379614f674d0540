"""The plugin manager: built-in and installed plugins, loaded once, through the same hooks.

``load_plugins()`` runs lazily on first use. It registers :data:`DEFAULT_PLUGINS`, then scans the
``harness_ext`` entry-point group, unless tests are running (``sys._sparks_test_mode``) or the
allow-list ``SPARKS_LOAD_PLUGINS`` is set: ``""`` loads no outside plugin, ``"a,b"`` loads only
the distributions ``a`` and ``b`` (even in test mode).

Loading is thread-safe and happens once per process: the first caller loads under a lock while
other threads wait for it (a plugin that asks for plugins while it is being imported gets the
partial registry, rather than a deadlock). A load that fails unregisters what it registered, so
the manager is never left half-loaded, and the next call reports the same problem again.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable

import pluggy

from harness_ext import hookspecs
from harness_ext.errors import SparksError
from harness_ext.hookspecs import InterventionFactory, Labeler

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "InterventionInfo",
    "LabelerInfo",
    "PluginError",
    "PluginInfo",
    "Registered",
    "describe_plugins",
    "get_interventions",
    "get_labelers",
    "ensure_registered",
    "get_registered_interventions",
    "load_plugins",
    "pm",
    "usage",
]

ENTRY_POINT_GROUP = "harness_ext"
ALLOW_LIST_ENV = "SPARKS_LOAD_PLUGINS"
DEFAULT_PLUGINS = ("harness_ext.interventions.builtin", "harness_ext.reports.builtin_labelers")
OWN_DISTRIBUTION = "sparks-harness"

pm = pluggy.PluginManager("harness_ext")
pm.add_hookspecs(hookspecs)

_loaded = False
_loading = False  # the lock's owner is loading (a plugin asked for plugins while importing)
_lock = threading.RLock()
_distributions: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)


class PluginError(SparksError):
    """A plugin failed to load, clashed with another, or misbehaved; the message names it."""


@dataclass(frozen=True)
class Registered:
    """Something a plugin registered (an intervention factory or a labeler) and who registered it."""

    name: str
    obj: Callable[..., Any]
    plugin: str


@dataclass(frozen=True)
class InterventionInfo:
    name: str
    usage: str
    doc: str


@dataclass(frozen=True)
class LabelerInfo:
    name: str
    doc: str


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, as ``sparks plugins`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    interventions: tuple[InterventionInfo, ...]
    labelers: tuple[LabelerInfo, ...]


def load_plugins() -> None:
    """Register the built-in plugins and the allowed installed ones; once per process, and
    safe to call from many threads at once."""
    global _loaded, _loading
    if _loaded:  # double-checked: no lock once loaded
        return
    with _lock:
        if _loaded or _loading:
            return
        _loading = True
        added: list[str] = []
        try:
            _load_all(added)
        except BaseException:
            _unregister(added)  # never half a registry: the next call reports the problem again
            raise
        finally:
            _loading = False
        _loaded = True


def ensure_registered(module_name: str) -> None:
    """Register module ``module_name`` under its name unless it is registered or blocked
    (thread-safe; loads the plugins first)."""
    load_plugins()
    with _lock:
        if pm.get_plugin(module_name) is None and not pm.is_blocked(module_name):
            _register(
                importlib.import_module(module_name),
                module_name,
                (OWN_DISTRIBUTION, _own_version()),
            )


def _unregister(names: list[str]) -> None:
    for name in reversed(names):
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
        _distributions.pop(name, None)


def _load_all(added: list[str]) -> None:
    """Register every plugin that should load; ``added`` collects the names registered."""
    for module_name in DEFAULT_PLUGINS:
        if pm.get_plugin(module_name) is None:
            _register(
                importlib.import_module(module_name),
                module_name,
                (OWN_DISTRIBUTION, _own_version()),
            )
            added.append(module_name)
    allowed = os.environ.get(ALLOW_LIST_ENV)
    if allowed is not None:
        for dist_name in filter(None, (name.strip() for name in allowed.split(","))):
            try:
                dist = metadata.distribution(dist_name)
            except metadata.PackageNotFoundError:
                raise PluginError(
                    f"{ALLOW_LIST_ENV} names {dist_name!r}, which is not installed; install it or "
                    f"remove it from the list"
                ) from None
            _load_distribution(dist, added)
    elif not getattr(sys, "_sparks_test_mode", False):
        for dist in metadata.distributions():
            _load_distribution(dist, added)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(f"{error} (hooks are listed in docs/plugins.md)") from None


def _load_distribution(dist: metadata.Distribution, added: list[str]) -> None:
    dist_name = dist.metadata["Name"] or "?"
    for entry_point in dist.entry_points:
        if entry_point.group != ENTRY_POINT_GROUP:
            continue
        if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:
            raise PluginError(
                f"plugin {entry_point.name!r} from {dist_name} {dist.version} failed to import: "
                f"{type(error).__name__}: {error}. Fix or uninstall it, or leave it out with "
                f"{ALLOW_LIST_ENV}=<comma-separated distributions to load>"
            ) from None
        _register(plugin, entry_point.name, (dist_name, dist.version))
        added.append(entry_point.name)


def _register(plugin: Any, name: str, distribution: tuple[str, str]) -> None:
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {name!r} ({distribution[0]}) is invalid: {error}") from None
    except ValueError as error:  # pluggy: the same object under two names
        raise PluginError(
            f"plugin {name!r} ({distribution[0]}) cannot be registered: {error}; "
            f"two entry points name the same object, remove one"
        ) from None
    _distributions[name] = distribution


def _own_version() -> str:
    from harness_ext import __version__

    return __version__


def _collect(hook_name: str, what: str) -> dict[str, Registered]:
    """Call ``hook_name`` on every plugin with a ``register`` callback that knows who is calling."""
    load_plugins()
    found: dict[str, Registered] = {}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        register = _register_callback(found, impl.plugin_name, what)
        arguments = {"register": register}
        try:
            impl.function(*[arguments[arg] for arg in impl.argnames])
        except PluginError:
            raise
        except Exception as error:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                f"{type(error).__name__}: {error}"
            ) from None
    return found


def _register_callback(
    found: dict[str, Registered], plugin: str, what: str
) -> Callable[[str, Callable[..., Any]], None]:
    def register(name: str, obj: Callable[..., Any]) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {what} with a bad name {name!r}")
        if not callable(obj):
            raise PluginError(
                f"plugin {plugin!r} registered {what} {name!r} with {obj!r}, which is not callable"
            )
        if name in found:
            raise PluginError(
                f"{what} {name!r} is registered twice: by plugin "
                f"{found[name].plugin!r} and by plugin {plugin!r}; uninstall one "
                f"or leave it out with {ALLOW_LIST_ENV}"
            )
        found[name] = Registered(name, obj, plugin)

    return register


def get_registered_interventions() -> dict[str, Registered]:
    """Intervention kinds by name, with the plugin that registered each."""
    return _collect("register_interventions", "intervention")


def get_interventions() -> dict[str, InterventionFactory]:
    """Intervention factories by name, from every loaded plugin; duplicate names are an error."""
    return {name: entry.obj for name, entry in get_registered_interventions().items()}


def get_labelers() -> dict[str, Labeler]:
    """Failure labelers by name, from every loaded plugin; duplicate names are an error."""
    return {name: entry.obj for name, entry in _collect("register_labelers", "labeler").items()}


def usage(name: str, factory: Callable[..., Any]) -> str:
    """``NAME:HEADS[:ARG...]`` for a factory, from its signature: ``noise:HEADS:STD[:SEED]``."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return f"{name}:HEADS[:ARG...]"
    text = f"{name}:HEADS"
    for parameter in parameters:
        label = parameter.name.upper()
        if parameter.kind is parameter.VAR_POSITIONAL:
            text += f"[:{label}...]"
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            text += f":{label}" if parameter.default is parameter.empty else f"[:{label}]"
    return text


def describe_plugins() -> list[PluginInfo]:
    """Every registered plugin with its distribution, version, hooks and registered kinds."""
    load_plugins()
    interventions = get_registered_interventions()
    labelers = _collect("register_labelers", "labeler")
    infos = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda pair: pair[0]):
        if plugin is None:  # a blocked name
            continue
        distribution, version = _distributions.get(name, (None, None))
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        infos.append(
            PluginInfo(
                name=name,
                distribution=distribution,
                version=version,
                hooks=hooks,
                interventions=tuple(
                    InterventionInfo(i.name, usage(i.name, i.obj), _doc(i.obj))
                    for i in sorted(interventions.values(), key=lambda i: i.name)
                    if i.plugin == name
                ),
                labelers=tuple(
                    LabelerInfo(item.name, _doc(item.obj))
                    for item in sorted(labelers.values(), key=lambda item: item.name)
                    if item.plugin == name
                ),
            )
        )
    return infos


def _doc(obj: Callable[..., Any]) -> str:
    return inspect.getdoc(obj) or "(no description)"
