"""sparks eval and sparks fold report a mistake before lm-eval, torch or a model loads."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext.errors import SparksError
from harness_ext.preflight import check_eval_args, check_interventions

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.integration  # the sparks command
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


def _hub_cache(root: Path, repo_id: str, config: dict) -> None:
    """A Hub cache as huggingface_hub lays it out: refs/main names the snapshot."""
    repo = root / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    (repo / "snapshots" / "abc123" / "config.json").write_text(json.dumps(config))


def test_a_hub_model_is_checked_from_its_cached_config_only(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a lookup that tried the network would fail
    _hub_cache(tmp_path, "org/cached", CONFIG)
    args = ["--model_args", "pretrained=org/cached,interventions=zero:L1H9"]
    with pytest.raises(SparksError, match="head 9 out of range"):
        check_eval_args(args)
    check_eval_args(["--model_args", "pretrained=org/cached,interventions=zero:L1H3"])
    # not in the cache: left to the model's loading (nothing is downloaded here)
    check_eval_args(["--model_args", "pretrained=org/elsewhere,interventions=zero:L1H9"])


REGRESS = """
tasks: [amc_sparks_greedy]
model_args: {{pretrained: {model}}}
runs:
  - name: base
  - name: ablate
    interventions: {spec}
"""


def _regress_spec(tmp_path: Path, model_folder: Path, spec: str = "zero:L1H3", extra: str = ""):
    from harness_ext.reports.regress_spec import load_spec

    path = tmp_path / "regress.yaml"
    path.write_text(REGRESS.format(model=model_folder, spec=spec) + extra, encoding="utf-8")
    return load_spec(path)


def test_a_good_regress_spec_passes(tmp_path, model_folder):
    from harness_ext.preflight import check_regress_spec

    check_regress_spec(_regress_spec(tmp_path, model_folder))


@pytest.mark.parametrize(
    "spec, extra, message",
    [
        ("zero:L1H9", "", r"regress.yaml: run 'ablate': .*head 9 out of range in L1H9"),
        ("zero:L7", "", r"run 'ablate': .*layer 7 out of range"),
        ("zero:L1H3", "heads: gone.json\n", r"heads .*gone.json does not exist"),
        ("zero:L1H3", "metadata: {data_dir: nodata}\n", r"data_dir .*nodata is not a folder"),
    ],
)
def test_a_regress_spec_mistake_is_refused_before_any_run(
    tmp_path, model_folder, spec, extra, message
):
    from harness_ext.preflight import check_regress_spec

    with pytest.raises(SparksError, match=message):
        check_regress_spec(_regress_spec(tmp_path, model_folder, spec, extra))


def test_a_misspelt_sparks_task_in_a_regress_spec_is_refused(tmp_path, model_folder):
    from harness_ext.preflight import check_regress_spec

    spec = _regress_spec(tmp_path, model_folder)
    spec = dataclasses.replace(spec, tasks=["amc_sparkz_greedy"])
    with pytest.raises(SparksError, match=r"tasks: amc_sparkz_greedy: .*did you mean amc_sparks"):
        check_regress_spec(spec)


def _sparks(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    """``sparks ARGV`` in a fresh interpreter that prints, last, which heavy modules it loaded."""
    code = (
        "import sys\n"
        "from harness_ext.cli import main\n"
        "try:\n"
        f"    code = main({list(argv)!r})\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print('exit', code)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'lm_eval', 'lm_eval.api.model') "
        "if m in sys.modules))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )


@pytest.mark.integration  # the sparks command
@pytest.mark.parametrize(
    "text, message",
    [
        ("tasks: [amc_sparks_greedy]\nlimt: 3\nruns: [{name: base}]\n", "did you mean 'limit'?"),
        (REGRESS.format(model="{model}", spec="zero:L1H9"), "head 9 out of range in L1H9"),
    ],
)
def test_sparks_regress_reports_a_mistake_in_one_line_before_lm_eval_or_torch(
    tmp_path, model_folder, text, message
):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text.replace("{model}", str(model_folder)), encoding="utf-8")
    done = _sparks(tmp_path, "regress", str(spec))
    assert done.stderr.startswith(f"sparks: error: {spec}") and message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["exit 2", "[]"]
