"""The plugin manager: built-ins through the same hook, clashes, failing plugins, the allow-list,
and the example package found through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext import hookimpl
from harness_ext.plugins import (
    DEFAULT_PLUGINS,
    PluginError,
    describe_plugins,
    get_interventions,
    pm,
    usage,
)
from harness_ext.testing import throwaway_plugin

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sparks-negate"
BUILTIN = DEFAULT_PLUGINS[0]


def test_builtins_come_through_the_hook() -> None:
    assert {"zero", "scale", "mean", "noise"} <= set(get_interventions())


def test_describe_plugins_lists_versions_hooks_and_help() -> None:
    builtin = next(info for info in describe_plugins() if info.name == BUILTIN)
    assert builtin.distribution == "sparks-harness" and builtin.version
    assert builtin.hooks == ("register_interventions",)
    by_name = {item.name: item for item in builtin.interventions}
    assert by_name["scale"].usage == "scale:HEADS:FACTOR"
    assert by_name["noise"].usage == "noise:HEADS:STD[:SEED]"
    assert by_name["zero"].usage == "zero:HEADS"
    assert "Zero ablation" in by_name["zero"].doc


def test_usage_from_signature() -> None:
    def factory(alpha: str, *rest: str) -> None:
        """Help."""

    assert usage("x", factory) == "x:HEADS:ALPHA[:REST...]"


def test_inline_plugin_is_listed_and_removed() -> None:
    class Plugin:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            def wobble(amount: str):
                """Wobble the heads by AMOUNT."""

            register("wobble", wobble)

    with throwaway_plugin("wobbler", Plugin()):
        assert "wobble" in get_interventions()
        info = next(info for info in describe_plugins() if info.name == "wobbler")
        assert info.interventions[0].doc == "Wobble the heads by AMOUNT."
        assert info.distribution is None
    assert "wobble" not in get_interventions()
    assert pm.get_plugin("wobbler") is None


def test_duplicate_name_names_both_plugins() -> None:
    class Clash:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("zero", lambda: None)

    with throwaway_plugin("clasher", Clash()):
        with pytest.raises(PluginError) as caught:
            get_interventions()
    message = str(caught.value)
    assert "'zero' is registered twice" in message
    assert BUILTIN in message and "clasher" in message


def test_plugin_that_raises_is_named() -> None:
    class Broken:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            raise RuntimeError("boom")

    with throwaway_plugin("broken-plugin", Broken()):
        with pytest.raises(
            PluginError,
            match=r"plugin 'broken-plugin' failed in register_interventions: "
            r"RuntimeError: boom",
        ):
            get_interventions()


def test_registering_a_non_callable_is_refused() -> None:
    class Odd:
        @staticmethod
        @hookimpl
        def register_interventions(register):
            register("odd", 42)

    with throwaway_plugin("odd-plugin", Odd()), pytest.raises(PluginError, match="not callable"):
        get_interventions()


def test_misspelt_hook_is_refused() -> None:
    class Typo:
        @staticmethod
        @hookimpl
        def register_intervention(register):  # missing "s"
            pass

    with pytest.raises(PluginError, match="register_intervention"):
        with throwaway_plugin("typo-plugin", Typo()):
            pass
    assert pm.get_plugin("typo-plugin") is None


def test_every_hook_has_a_test() -> None:
    sources = "\n".join(path.read_text() for path in Path(__file__).parents[1].rglob("test_*.py"))
    names = [
        name for name, caller in vars(pm.hook).items() if getattr(caller, "spec", None) is not None
    ]
    assert names
    for name in names:
        assert f"def test_hook_{name}(" in sources, f"hook {name} has no test_hook_{name}"


def run_python(
    code: str, env: dict[str, str], path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, outside pytest (so no test-mode flag unless set)."""
    full = dict(os.environ)
    full.pop("SPARKS_LOAD_PLUGINS", None)
    full.update(env)
    if path is not None:
        full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), full.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=120
    )


LIST_INTERVENTIONS = (
    "import json, sys\n{setup}\n"
    "from harness_ext.plugins import get_registered_interventions\n"
    "print(json.dumps({{n: r.plugin for n, r in get_registered_interventions().items()}}))"
)


@pytest.mark.integration  # a fresh interpreter
def test_allow_list_empty_loads_no_outside_plugin() -> None:
    result = run_python(LIST_INTERVENTIONS.format(setup=""), {"SPARKS_LOAD_PLUGINS": ""})
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout).values()) == {BUILTIN}


@pytest.mark.integration  # a fresh interpreter
def test_allow_list_names_a_missing_distribution() -> None:
    result = run_python(
        LIST_INTERVENTIONS.format(setup=""), {"SPARKS_LOAD_PLUGINS": "no-such-dist-xyz"}
    )
    assert result.returncode != 0
    assert "SPARKS_LOAD_PLUGINS names 'no-such-dist-xyz', which is not installed" in result.stderr


@pytest.mark.integration  # a fresh interpreter
def test_plugin_failing_to_import_is_named(tmp_path: Path) -> None:
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[harness_ext]\nbroken = no_such_module_xyz\n")
    result = run_python(LIST_INTERVENTIONS.format(setup=""), {}, tmp_path)
    assert result.returncode != 0
    assert (
        "plugin 'broken' from broken-plugin 0.1 failed to import: ModuleNotFoundError"
        in result.stderr
    )
    assert "SPARKS_LOAD_PLUGINS" in result.stderr
    allowed_out = run_python(
        LIST_INTERVENTIONS.format(setup=""), {"SPARKS_LOAD_PLUGINS": ""}, tmp_path
    )
    assert allowed_out.returncode == 0, allowed_out.stderr


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/sparks-negate installed with pip into a throwaway folder (not this environment)."""
    target = tmp_path_factory.mktemp("site")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "--no-index",
        "--target",
        str(target),
        str(EXAMPLE),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return target


@pytest.mark.integration  # pip installs the example
def test_example_plugin_found_by_entry_point(installed_example: Path) -> None:
    result = run_python(LIST_INTERVENTIONS.format(setup=""), {}, installed_example)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["negate"] == "negate"


@pytest.mark.integration  # pip installs the example
def test_example_plugin_allowed_by_name_even_in_test_mode(installed_example: Path) -> None:
    setup = "sys._sparks_test_mode = True"
    allowed = run_python(
        LIST_INTERVENTIONS.format(setup=setup),
        {"SPARKS_LOAD_PLUGINS": "sparks-negate"},
        installed_example,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "negate" in json.loads(allowed.stdout)
    test_mode = run_python(LIST_INTERVENTIONS.format(setup=setup), {}, installed_example)
    assert "negate" not in json.loads(test_mode.stdout)


@pytest.mark.slow  # a second pytest in a subprocess: 13-30 s depending on load
def test_example_plugin_own_tests_pass(installed_example: Path) -> None:
    """The example's tests (the recipe docs/plugins.md gives plugin authors) pass when installed."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(EXAMPLE / "tests"),
    ]
    full = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(installed_example), os.environ.get("PYTHONPATH")])
        ),
    )
    full.pop("SPARKS_LOAD_PLUGINS", None)
    full["OMP_NUM_THREADS"] = "1"  # tiny models: threads only thrash on a busy machine
    result = subprocess.run(
        command, capture_output=True, text=True, env=full, timeout=300, cwd=EXAMPLE
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "9 passed" in result.stdout
