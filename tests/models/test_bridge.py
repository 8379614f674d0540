"""lm-eval 0.4.13 finds the `sparks` model and tasks right after install, with no flag."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness_ext import lm_eval_bridge
from harness_ext.lm_eval_patches import with_our_tasks

TASKS = [
    "amc_sparks",
    "aime24_sparks",
    "aime25_sparks",
    "aime_sparks",
    "math500_sparks",
    "sparks",
    "amc_sparks_greedy",
    "aime24_sparks_greedy",
    "aime25_sparks_greedy",
    "math500_sparks_greedy",
]


def run_python(code: str) -> str:
    """Run code in a fresh interpreter of this venv (so the installed .pth file is active)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_pth_file_is_installed():
    site = Path(sysconfig.get_paths()["purelib"])
    text = (site / "harness_ext_lm_eval.pth").read_text()
    assert text.startswith("import ") and "harness_ext.lm_eval_bridge" in text


@pytest.mark.integration  # a fresh interpreter
def test_startup_imports_nothing_heavy():
    loaded = json.loads(
        run_python(
            "import json, sys; print(json.dumps([m for m in ('torch', 'transformers', 'lm_eval', "
            "'sympy', 'pluggy', 'harness_ext.lm_eval_bridge') if m in sys.modules]))"
        )
    )
    assert loaded == ["harness_ext.lm_eval_bridge"]


@pytest.mark.integration  # a fresh interpreter
def test_get_model_finds_sparks_without_import():
    out = run_python(
        "from lm_eval.api.registry import get_model; c = get_model('sparks'); "
        "print(c.__module__, c.__name__); "
        "import sys; print('harness_ext.model' in sys.modules)"
    )
    assert out.split() == ["harness_ext.model", "SparksLM", "True"]
    # the built-in models are still all there
    out = run_python("from lm_eval.api.registry import get_model; print(get_model('hf').__name__)")
    assert out.strip() == "HFLM"


@pytest.mark.integration  # a fresh interpreter
def test_task_manager_indexes_our_tasks():
    out = run_python(
        "from lm_eval.tasks import TaskManager; import json; "
        "print(json.dumps(TaskManager().all_tasks))"
    )
    names = set(json.loads(out))
    assert set(TASKS) <= names
    assert "gsm8k" in names  # lm-eval's own tasks stay


def test_users_include_path_still_wins(tmp_path):
    ours = lm_eval_bridge.tasks_dir()
    paths = with_our_tasks([str(tmp_path)], ours)
    assert Path(paths[0]) == ours
    assert paths[1:] == [str(tmp_path)]
    assert with_our_tasks(paths, ours) == paths  # added once


@pytest.mark.integration
def test_lm_eval_ls_tasks_lists_every_task():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lm_eval")), "ls", "tasks"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {cell.strip() for line in done.stdout.splitlines() for cell in line.split("|")}
    assert set(TASKS) <= listed


@pytest.mark.integration  # a fresh interpreter
def test_a_plain_import_changes_nothing_outside_sparks():
    """Importing the model, the tasks and the interventions leaves ``sys.excepthook`` and
    lm-eval's ``CachingLM`` alone; building a model with interventions separates the cache."""
    out = run_python(
        "import sys; hook = sys.excepthook\n"
        "import harness_ext.model, harness_ext.tasks.data, harness_ext.interventions.runtime\n"
        "import harness_ext.interventions.base, harness_ext.discovery.attribution\n"
        "from lm_eval.api.model import CachingLM\n"
        "print(sys.excepthook is hook, getattr(CachingLM.__init__, '_sparks', False))\n"
        "import lm_eval.evaluator\n"  # what simple_evaluate users import: still no excepthook
        "print(sys.excepthook is hook)\n"
    )
    assert out.split() == ["True", "False", "True"]


@pytest.mark.integration  # the lm_eval command
def test_lm_eval_command_line_shows_a_sparks_error_as_one_line():
    """lm-eval's command line (``lm_eval.__main__`` imports ``lm_eval._cli``) gets the
    one-line display from the bridge; the model's own bad input then reads as one line."""
    code = (
        "import lm_eval.__main__\n"
        "from lm_eval.api.registry import get_model\n"
        "get_model('sparks').create_from_arg_string('interventions=zero:L1X3')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == (
        "sparks: error: bad intervention spec: unexpected 'X' after 'L1'; heads look like L12H3"
    )
