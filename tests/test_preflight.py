"""sparks eval and sparks fold report a mistake before lm-eval, torch or a model loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext.errors import SparksError
from harness_ext.preflight import check_eval_args, check_interventions

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "model_type": "llama",
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_size": 64,
    "head_dim": 16,
}


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "spec, message",
    [
        ("zero:L1H9", r"head 9 out of range in L1H9: this model has 4 layers"),
        ("zer:L1H3", r"zer"),
        ("scale:L1H3", r"scale"),
    ],
)
def test_a_bad_spec_is_refused_from_the_config_alone(model_folder, spec, message):
    args = ["--model", "sparks", "--model_args", f"pretrained={model_folder},interventions={spec}"]
    with pytest.raises(SparksError, match=message):
        check_eval_args(args)


def test_a_good_spec_passes(model_folder):
    check_eval_args(["--model_args", f"pretrained={model_folder},interventions=zero:L3H3"])
    check_interventions("random:2:7", CONFIG)


@pytest.mark.parametrize(
    "tasks, message",
    [
        (
            "amc_sparkz",
            r"--tasks amc_sparkz: sparks has no task of that name; did you mean amc_sparks",
        ),
        ("gsm8k,aime_sparks_greedyy", r"aime_sparks_greedyy.*did you mean"),
        ("my_sparks_task", r"my_sparks_task: sparks has no task"),
    ],
)
def test_a_misspelt_sparks_task_is_refused(tasks, message):
    with pytest.raises(SparksError, match=message):
        check_eval_args(["--tasks", tasks])


def test_other_task_names_and_user_tasks_are_left_to_lm_eval(tmp_path):
    check_eval_args(["--tasks", "gsm8k,amc_sparks,sparks_greedy"])
    (tmp_path / "mine.yaml").write_text("task: my_sparks_task\n", encoding="utf-8")
    check_eval_args(["--tasks", "my_sparks_task", "--include_path", str(tmp_path)])
    check_eval_args(["--model", "hf", "--tasks", "whatever_sparks"])  # not a sparks model


def test_a_missing_local_folder_is_refused():
    with pytest.raises(SparksError, match=r"pretrained=\./nowhere: the folder .* does not exist"):
        check_eval_args(["--model_args", "pretrained=./nowhere"])


def test_sparks_eval_reports_a_mistake_before_lm_eval_or_torch_loads(model_folder):
    """The checks run in the CLI before lm-eval's machinery (or torch) is imported: a
    subprocess shows which heavy modules were loaded when the error came."""
    code = (
        "import sys\n"
        "from harness_ext.cli import main\n"
        "try:\n"
        f"    main(['eval', '--tasks', 'amc_sparks', '--model_args', "
        f"'pretrained={model_folder},interventions=zero:L9H1'])\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code)\n"
        "except Exception as error:\n"
        "    print('error', type(error).__name__, error)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'lm_eval.api.model') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert "layer 9 out of range" in done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
