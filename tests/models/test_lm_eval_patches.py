"""lm-eval is extended through subclasses and its public API; the few patches of its classes
live in one module (harness_ext.lm_eval_patches), and the random control is drawn once."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from lm_eval.api.instance import Instance
from lm_eval.api.model import CacheHook

import harness_ext.interventions
from harness_ext.generation_facts import FACTS_KEY, INTERVENTIONS_KEY, generate_recording_facts
from harness_ext.model import SparksLM, results_names, spec_digest

PACKAGE = Path(__file__).resolve().parents[2] / "harness_ext"


def _assigned_local_functions(tree: ast.AST) -> list[str]:
    """``obj.attr = fn`` where ``fn`` is a function defined in the same scope and ``obj`` is
    not ``self``: how a method of someone else's class is replaced."""
    found = []
    for scope in ast.walk(tree):
        if not isinstance(scope, (ast.Module, ast.FunctionDef)):
            continue
        local = {node.name for node in scope.body if isinstance(node, ast.FunctionDef)}
        for node in ast.walk(scope):
            if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Name):
                continue
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and node.value.id in local
                    and not (isinstance(target.value, ast.Name) and target.value.id == "self")
                ):
                    found.append(f"{ast.unparse(target)} = {node.value.id}")
    return found


def _imports_lm_eval(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lm_eval"):
            return True
        if isinstance(node, ast.Import) and any(a.name.startswith("lm_eval") for a in node.names):
            return True
    return False


def test_patches_of_lm_eval_classes_live_in_one_module() -> None:
    """Of the modules that use lm-eval, only lm_eval_patches replaces methods of other
    objects (modules that patch other libraries are the business of their own tests)."""
    patched = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = _assigned_local_functions(tree)
        if found and _imports_lm_eval(tree):
            patched[path.relative_to(PACKAGE).as_posix()] = found
    assert list(patched) == ["lm_eval_patches.py"], patched
    assert len(patched["lm_eval_patches.py"]) == 3  # TaskManager, the tracker, CachingLM


def test_the_scan_sees_a_patch() -> None:
    code = "def patch(module):\n    def __init__(self):\n        pass\n    module.Thing.__init__ = __init__\n"
    assert _assigned_local_functions(ast.parse(code)) == ["module.Thing.__init__ = __init__"]


def test_results_folder_is_named_after_the_models_own_draw(
    tiny_model_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tiny_model_dirs["llama"])
    spec = "zero:L0H0;random:L1H1+L1H2:7"
    lm = SparksLM(pretrained=path, device="cpu", batch_size=2, interventions=spec)
    draws: list[Any] = []
    real = harness_ext.interventions.expand_controls

    def counted(*args: Any, **kwargs: Any) -> Any:
        draws.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(harness_ext.interventions, "expand_controls", counted)
    _, folder = results_names(f"pretrained={path},interventions={spec}", path)
    assert folder.endswith(f"__sparks-{spec_digest(lm.interventions)}")
    assert draws == []  # named from the model's draw, not a second one
    _, other = results_names(f"pretrained={path},interventions=random:L1H1:7", path)
    assert len(draws) == 1  # a spec no model of this process drew is still drawn here
    assert other != folder


class _LM:
    """What generate_recording_facts uses of an lm-eval LM: the cache hook and its setter."""

    def __init__(self) -> None:
        self.cache_hook: Any = CacheHook(None)

    def set_cache_hook(self, cache_hook: Any) -> None:
        self.cache_hook = cache_hook


def _request(prompt: str, **gen_kwargs: Any) -> Instance:
    return Instance(
        request_type="generate_until", doc={}, idx=0, arguments=(prompt, dict(gen_kwargs))
    )


def test_recording_facts_uses_the_cache_hook_and_restores_it() -> None:
    lm = _LM()
    real = lm.cache_hook
    stale = _request("a", until=["\n"], sparks_generation=[{"old": 1}], sparks_interventions="x")
    fresh = _request("b", until=["\n"])
    requests = [stale, fresh]
    seen_settings = []

    def generate() -> list[str]:  # what HFLM.generate_until does with the hook, in order
        seen_settings.extend(dict(request.args[1]) for request in requests)
        outputs = []
        for n, request in enumerate(requests):
            lm.cache_hook.add_batch([{"generated_tokens": n + 1}])
            outputs.append(f"out{n}")
            lm.cache_hook.add_partial("generate_until", request.args, outputs[-1])
        return outputs

    outputs = generate_recording_facts(lm, requests, generate, interventions="zero:L0H1")
    assert outputs == ["out0", "out1"]
    assert seen_settings == [{"until": ["\n"]}, {"until": ["\n"]}]  # stale records not passed on
    assert lm.cache_hook is real
    assert stale.args[1][FACTS_KEY] == [{"generated_tokens": 1}]
    assert fresh.args[1][FACTS_KEY] == [{"generated_tokens": 2}]
    assert stale.args[1][INTERVENTIONS_KEY] == fresh.args[1][INTERVENTIONS_KEY] == "zero:L0H1"
    baseline = _request("c", until=["\n"])
    generate_recording_facts(lm, [baseline], lambda: [], interventions=None)
    assert INTERVENTIONS_KEY not in baseline.args[1]


def test_recording_facts_restores_the_hook_after_an_error() -> None:
    lm = _LM()
    real = lm.cache_hook

    def fails() -> list[str]:
        raise RuntimeError("generation failed")

    with pytest.raises(RuntimeError, match="generation failed"):
        generate_recording_facts(lm, [_request("a")], fails, interventions=None)
    assert lm.cache_hook is real
