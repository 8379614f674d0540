"""The built wheel: one import namespace, task YAMLs, entry points, and the bridge's .pth file."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # every test here builds or installs the wheel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [built] = out.glob("sparks_harness-*.whl")
    return built


def test_everything_lands_under_one_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {
        "harness_ext",
        "harness_ext_lm_eval.pth",
    }
    for member in (
        "harness_ext/tasks/_sparks_template_yaml",
        "harness_ext/tasks/sparks.yaml",
        "harness_ext/tasks/amc/amc_sparks.yaml",
        "harness_ext/interventions/__init__.py",
        "harness_ext/reports/__init__.py",
        "harness_ext/charts/bars.py",
        "harness_ext/formats/arch/__init__.py",
        "harness_ext/formats/spec_file.py",
    ):
        assert member in names


def test_entry_points_declared(wheel):
    archive = zipfile.ZipFile(wheel)
    [entry_points] = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "[lm_eval.models]\nsparks = harness_ext.model:SparksLM" in text
    assert "[lm_eval.tasks]\nsparks = harness_ext.tasks" in text
    assert "sparks = harness_ext.cli:main" in text


def test_installed_wheel_registers_with_lm_eval(wheel, tmp_path):
    """A regular (non-editable) install: the .pth file alone makes lm-eval find `sparks`."""
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # -S: no .pth file of this (editable) venv runs; the venv's packages are put on the path
    # as plain folders, and only the wheel's own .pth file is processed, by addsitedir
    code = (
        "import site, sys; sys.path.append(sys.argv[2]); site.addsitedir(sys.argv[1]); "
        "from lm_eval.api.registry import get_model; import harness_ext; "
        "print(get_model('sparks').__name__, harness_ext.__file__)"
    )
    purelib = sysconfig.get_paths()["purelib"]
    # without PYTHONPATH: a checkout put on it (PYTHONPATH=$PWD) would shadow the wheel's files
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(target), purelib],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    name, location = done.stdout.split()
    assert name == "SparksLM" and location.startswith(str(target))
