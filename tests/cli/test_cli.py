"""The `sparks` console script."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext import cli
from harness_ext.errors import SparksError

SPARKS = str(Path(sys.executable).with_name("sparks"))


@pytest.mark.integration  # the sparks command
def test_help_lists_the_subcommands():
    done = subprocess.run([SPARKS, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in cli.COMMANDS:
        assert name in done.stdout


def test_every_command_has_a_docstring():
    for name, command in cli.COMMANDS.items():
        assert (command.run.__doc__ or "").strip(), name


def test_tasks_command_lists_ours(capsys):
    assert cli.main(["tasks"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"amc_sparks", "aime_sparks", "sparks", "math500_sparks_greedy"} <= set(listed)


def test_sparks_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    from harness_ext.errors import SparksError

    def broken(args, rest):
        """Fail."""
        raise SparksError("the problem, and the fix")

    monkeypatch.setitem(cli.COMMANDS, "model", cli.Command(broken))
    assert cli.main(["model"]) == 2
    assert capsys.readouterr().err == "sparks: error: the problem, and the fix\n"


def test_intervention_flags_become_one_model_arg():
    argv = cli.with_intervention_flags(
        [
            "--tasks",
            "amc_sparks",
            "--ablate",
            "L12H3",
            "L14H7",
            "--boost",
            "L20H1=1.3",
            "--model_args",
            "pretrained=x,dtype=float32",
            "--limit",
            "2",
        ]
    )
    assert argv == [
        "--tasks",
        "amc_sparks",
        "--limit",
        "2",
        "--model_args",
        "pretrained=x,dtype=float32,interventions=zero:L12H3+L14H7;scale:L20H1:1.3",
    ]
    assert cli.with_intervention_flags(["--tasks", "t"]) == ["--tasks", "t"]


def test_bad_boost_flag_is_clear():
    import pytest

    from harness_ext.errors import SparksError

    with pytest.raises(SparksError, match="expected HEAD=FACTOR"):
        cli.with_intervention_flags(["--boost", "L20H1"])
    with pytest.raises(SparksError, match="both in --model_args and as flags"):
        cli.with_intervention_flags(["--ablate", "L1H1", "--model_args", "interventions=zero:L2"])


@pytest.mark.integration  # the sparks command
def test_plugins_command_lists_builtins_with_help():
    done = subprocess.run(
        [SPARKS, "plugins"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "SPARKS_LOAD_PLUGINS": ""},
    )
    assert done.returncode == 0, done.stderr
    for usage in ("zero:HEADS", "scale:HEADS:FACTOR", "mean:HEADS", "noise:HEADS:STD[:SEED]"):
        assert usage in done.stdout
    assert "Zero ablation" in done.stdout


def test_fold_command_writes_a_checkpoint(tiny_model_dirs, tmp_path, capsys):
    out = tmp_path / "folded"
    assert (
        cli.main(
            [
                "fold",
                "--model",
                str(tiny_model_dirs["llama"]),
                "--interventions",
                "zero:L0H1",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert (out / "sparks_interventions.json").is_file() and (out / "config.json").is_file()
    assert (
        cli.main(
            [
                "fold",
                "--model",
                str(tiny_model_dirs["llama"]),
                "--interventions",
                "noise:L0H1:0.1",
                "-o",
                str(tmp_path / "no"),
            ]
        )
        == 2
    )
    assert "cannot fold" in capsys.readouterr().err


def lm_eval_model_args(argv: list[str]) -> tuple[str | None, dict]:
    """What lm-eval 0.4.13's own parser makes of ``sparks eval``'s rewritten arguments."""
    import sys as system

    from lm_eval._cli import HarnessCLI

    old = system.argv
    system.argv = ["lm_eval", "run", *cli.with_intervention_flags(argv)]
    try:
        parsed = HarnessCLI().parse_args()
    finally:
        system.argv = old
    return parsed.model, parsed.model_args


def test_model_args_as_several_words_or_json_keep_working():
    expected = {"pretrained": "x", "dtype": "float32", "interventions": "zero:L1H1"}
    words = ["--model_args", "pretrained=x", "dtype=float32", "--ablate", "L1H1", "--tasks", "t"]
    assert lm_eval_model_args(words) == (None, expected)
    as_json = [
        "--tasks",
        "t",
        "--model_args",
        '{"pretrained": "x", "dtype": "float32"}',
        "--ablate",
        "L1H1",
    ]
    assert lm_eval_model_args(as_json) == (None, expected)
    twice = ["-a", "pretrained=x", "--model_args", "dtype=float32", "--boost", "L1H1=2"]
    assert lm_eval_model_args(twice)[1]["interventions"] == "scale:L1H1:2"


def test_model_is_not_taken_for_model_args():
    assert lm_eval_model_args(["--model", "hf", "--ablate", "L1H1", "--tasks", "t"]) == (
        "hf",
        {"interventions": "zero:L1H1"},
    )


def test_interventions_in_json_model_args_and_as_flags_are_refused():
    import pytest

    from harness_ext.errors import SparksError

    with pytest.raises(SparksError, match="both in --model_args and as flags"):
        cli.with_intervention_flags(
            ["--model_args", '{"interventions": "zero:L2H1"}', "--ablate", "L1H1"]
        )


def test_eval_help_lists_the_intervention_flags(capsys):
    assert cli.main(["eval", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sparks eval")
    for flag in (
        "--ablate HEAD",
        "--boost HEAD=FACTOR",
        "--interventions SPEC",
        "--model_args",
        "--apply_chat_template",
    ):
        assert flag in out


def test_bad_metadata_json_is_one_clear_line(monkeypatch, capsys):
    import lm_eval.__main__

    monkeypatch.setattr(lm_eval.__main__, "cli_evaluate", lambda: 1 / 0)  # must not be reached
    assert cli.main(["eval", "--tasks", "t", "--metadata", '{"repeats": 1']) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sparks: error: --metadata '{\"repeats\": 1'")
    assert "not valid JSON: Expecting ',' delimiter at character 14" in err
    assert cli.main(["eval", "--tasks", "t", "--gen_kwargs={max_gen_toks: 8}"]) == 2
    assert "Expecting property name enclosed in double quotes" in capsys.readouterr().err


def test_ctrl_c_prints_one_line_and_exits_130(monkeypatch, capsys):
    def interrupted(args, rest):
        """Be interrupted."""
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "model", cli.Command(interrupted))
    assert cli.main(["model"]) == 130
    assert capsys.readouterr().err == "sparks: interrupted\n"


def test_a_sparks_error_behind_another_error_is_one_line(monkeypatch, capsys):
    from harness_ext.errors import SparksError

    def wrapped(args, rest):
        """Fail inside a library that re-raises."""
        try:
            raise SparksError("the problem, and the fix")
        except SparksError as error:
            raise RuntimeError("library wrapper") from error

    monkeypatch.setitem(cli.COMMANDS, "model", cli.Command(wrapped))
    assert cli.main(["model"]) == 2
    assert capsys.readouterr().err == "sparks: error: the problem, and the fix\n"


def test_eval_backend_flag_picks_the_model():
    import pytest

    from harness_ext.cli import BACKEND_MODELS, pop_backend
    from harness_ext.errors import SparksError

    assert pop_backend(["--backend", "vllm", "--tasks", "x"]) == ("vllm", ["--tasks", "x"])
    assert pop_backend(["--backend=transformers"]) == ("transformers", [])
    assert pop_backend(["--tasks", "x"]) == ("transformers", ["--tasks", "x"])
    assert BACKEND_MODELS["vllm"] == "sparks-vllm"
    with pytest.raises(SparksError, match="not one of transformers, vllm"):
        pop_backend(["--backend", "tgi"])


def test_sparks_vllm_runs_from_its_own_environment(monkeypatch, tmp_path) -> None:
    """sparks eval --backend vllm and regress's model: sparks-vllm use .venv-vllm's lm_eval when
    this interpreter has no vLLM, and name the set-up command when it is missing."""
    from harness_ext import vllm_env
    from harness_ext.reports.regress import _lm_eval

    monkeypatch.setattr(vllm_env, "has_vllm", lambda: False)
    monkeypatch.setattr(vllm_env, "ROOT", tmp_path)
    with pytest.raises(SparksError, match=r"model: sparks-vllm needs vLLM.*setup-vllm\.sh"):
        _lm_eval("sparks-vllm")
    program = tmp_path / ".venv-vllm" / "bin" / "lm_eval"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    assert _lm_eval("sparks-vllm") == [str(program)]
    assert _lm_eval("sparks") != [str(program)]


def test_a_commands_help_is_its_docstring_alone():
    """One source per command: the run function's docstring (no configure overrides it)."""
    import inspect

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in cli.COMMANDS.items():
        assert commands.choices[name].description == inspect.cleandoc(command.run.__doc__ or "")


def test_the_docs_quote_the_help_as_the_code_prints_it():
    """README's `sparks --help` and docs/reports.md's `sparks regress --help` blocks."""
    root = Path(__file__).resolve().parents[2]
    blocks = 0
    for path, expected in cli.help_docs(root).items():
        blocks += len(cli.HELP_BLOCK.findall(expected))
        assert path.read_text(encoding="utf-8") == expected, (
            f"{path.name}: a help block differs from the code's help; rewrite them with "
            "python -c 'from harness_ext.cli import write_help_docs; write_help_docs()'"
        )
    assert blocks >= 2


def test_help_text_is_what_sparks_prints(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", cli.HELP_WIDTH)
    with pytest.raises(SystemExit):
        cli.main(["regress", "--help"])
    assert capsys.readouterr().out == cli.help_text(["regress", "--help"])
    assert "SPEC.yaml" in cli.help_text(["regress", "--help"])


def test_a_stale_help_block_is_found(tmp_path):
    (tmp_path / "docs").mkdir()
    for name in cli.DOCS_WITH_HELP:
        (tmp_path / name).write_text("<!-- help: sparks --help -->\n```\nold text\n```\n")
    for expected in cli.help_docs(tmp_path).values():
        assert "old text" not in expected and "usage: sparks [-h] COMMAND" in expected
