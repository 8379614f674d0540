"""sparks discover for the paper's experiments: circuits whose size can differ (importance mass),
thinking on against thinking off on one model, and checkpoint circuits against the GRPO reward.

Models are tiny random ones built here (a Qwen3 with a chat template honouring
``enable_thinking``; planted Llama checkpoints with a written ``trainer_state.json``); problems
are short made-up ones, so no data folder is needed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from tiny_models import CHAT_TEMPLATE, THINKING_TEMPLATE, plant_heads, save_tiny_thinking_checkpoint

from harness_ext.discovery import command as discovery
from harness_ext.discovery import configure_discover, prompt_ids, run_discover
from harness_ext.discovery.circuits import CircuitRule, circuit_by_mass, jaccard_distance, overlap
from harness_ext.discovery.heads_file import build_result, head_grid
from harness_ext.errors import SparksError
from harness_ext.interventions.spec import read_heads_file

ROWS = [
    ("amc_sparks", {"problem_id": f"p{i}", "problem": text})
    for i, text in enumerate(["What is 2+3?", "Solve x+1=4.", "Is 91 prime?"])
]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def short_rows(monkeypatch: pytest.MonkeyPatch) -> list:
    """``--tasks`` gives the short problems above (the first ``--limit`` of them)."""
    monkeypatch.setattr(discovery, "load_task_rows", lambda tasks, limit: ROWS[:limit])
    return ROWS


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any model load fails the test: the input was to be refused before."""
    monkeypatch.setattr(discovery, "load_model", lambda *a, **k: pytest.fail("a model was loaded"))


def _pairs(entries: list[dict[str, Any]] | None) -> list[tuple[int, int]]:
    return [(e["layer"], e["head"]) for e in entries or ()]


# ---------------------------------------------------------------- 0. circuits by importance mass


def test_mass_circuit_is_the_fewest_heads_carrying_the_share() -> None:
    importance = [[5.0, 1.0, 0.2], [4.0, 0.0, 3.0]]  # total 13.2
    assert circuit_by_mass(importance, 0.5) == [(0, 0), (1, 0)]  # 9.0 >= 6.6; 5.0 alone is not
    assert circuit_by_mass(importance, 0.8) == [(0, 0), (1, 0), (1, 2)]  # 12.0 >= 10.56
    assert circuit_by_mass(importance, 1.0) == [
        (0, 0),
        (1, 0),
        (1, 2),
        (0, 1),
        (0, 2),
    ]  # never (1, 1)
    assert circuit_by_mass([[0.1] * 3, [0.1] * 3], 1.0) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
    ]
    assert circuit_by_mass([[2.0, 2.0], [1.0, 0.0]], 0.4) == [(0, 0)]  # ties: lower layer, head
    assert circuit_by_mass([[0.0, 0.0]], 0.8) == []


def test_mass_circuits_of_a_focused_and_a_spread_model_differ_in_size() -> None:
    """A post model with its importance on two heads and a base spread over six: by mass the
    base circuit is broader, and heads.json says which definition made them."""
    post = [[9.0, 0.5, 0.0, 0.5], [6.0, 0.0, 0.0, 0.0]]  # total 16
    base = [[2.0, 2.0, 2.0, 0.0], [2.0, 2.0, 2.0, 0.0]]  # total 12
    result = build_result(post, base, CircuitRule("mass", mass=0.8), {})
    assert _pairs(result["circuit_post"]) == [(0, 0), (1, 0)]  # 15/16
    assert _pairs(result["circuit_base"]) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]  # 10/12
    assert _pairs(result["emergent"]) == []  # the post heads are in the base circuit too
    assert result["circuits"] == {
        "rule": "the fewest heads carrying 80% of the total importance",
        "post": {"size": 2, "mass": 15 / 16},
        "base": {"size": 5, "mass": 10 / 12},
        "overlap": {"both": 2, "post_only": 0, "base_only": 3, "jaccard_index": 2 / 5},
    }
    fixed = build_result(post, base, 3, {})  # the top-k rule is still there, and the default
    assert fixed["circuits"]["post"]["size"] == fixed["circuits"]["base"]["size"] == 3
    assert CircuitRule("mass", mass=0.8).describe() == {"rule": "mass", "mass": 0.8}


def test_edge_circuit_is_the_heads_on_kept_edges() -> None:
    import torch

    edges = torch.zeros(2, 2, 5)
    edges[0, 1, 1], edges[1, 0, 4], edges[0, 0, 2] = 10.0, 3.0, 0.5  # 0.5 < 0.1 x 10: dropped
    importance = edges.sum(dim=-1).tolist()
    rule = CircuitRule("edges", top_edges=10, edge_threshold=0.1)
    assert rule.select(importance, edges) == [(0, 1), (1, 0)]
    assert CircuitRule("edges", top_edges=1, edge_threshold=0.0).select(importance, edges) == [
        (0, 1)
    ]
    with pytest.raises(ValueError, match="needs the edge scores"):
        rule.select(importance)


def test_overlap_and_jaccard_distance() -> None:
    assert overlap([(0, 0), (0, 1)], [(0, 1), (1, 1), (1, 2)]) == {
        "both": 1,
        "first_only": 1,
        "second_only": 2,
        "jaccard_index": 0.25,
    }
    assert (
        jaccard_distance([(0, 0)], [(0, 0)]) == 0.0 and jaccard_distance([(0, 0)], [(1, 1)]) == 1.0
    )
    assert jaccard_distance([], []) == 0.0


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--circuit-mass", "0"], r"--circuit-mass 0: give a share of the total importance"),
        (["--circuit-mass", "1.5"], r"--circuit-mass 1.5: give a share"),
        (["--circuit-mass", "nan"], r"--circuit-mass nan"),
        (["--circuit-mass", "0.8", "--circuit-size", "5"], "give one circuit definition"),
        (["--circuit-edges"], "--circuit-edges takes the heads on the kept edges; add --edges"),
        (
            ["--rewards", "r.csv"],
            "--rewards, --reward-key and --reward-window go with --checkpoints",
        ),
        (["--reward-window", "last"], "go with --checkpoints"),
    ],
)
def test_circuit_and_reward_flags_are_checked_first(
    argv: list[str], message: str, no_models: None
) -> None:
    with pytest.raises(SparksError, match=message):
        run_discover(_args(*argv))


def test_cli_mass_circuit_is_recorded(tmp_path: Path, short_rows: list) -> None:
    """--circuit-mass on a planted pair: the file records the rule, and its circuits are exactly
    the mass circuits of the importances it lists."""
    from harness_ext.testing import tiny_model, tiny_tokenizer

    chosen = [(0, 1), (1, 2)]
    for name, factor in (("post", 8.0), ("base", 0.0)):
        plant_heads(tiny_model("llama", 0), chosen, factor).save_pretrained(tmp_path / name)
        tiny_tokenizer().save_pretrained(tmp_path / name)
    out = tmp_path / "heads.json"
    assert (
        run_discover(
            _args(
                "--model",
                str(tmp_path / "post"),
                "--base",
                str(tmp_path / "base"),
                "--limit",
                "2",
                "--opening-tokens",
                "4",
                "--ig-steps",
                "2",
                "--circuit-mass",
                "0.9",
                "--device",
                "cpu",
                "-o",
                str(out),
            )
        )
        == 0
    )
    data = json.loads(out.read_text())
    assert data["format"] == "sparks-heads/1"
    assert data["settings"]["circuit"] == {"rule": "mass", "mass": 0.9}
    assert data["settings"]["circuit_size"] is None
    for side in ("post", "base"):
        grid = head_grid(data["heads"], f"importance_{side}")
        assert _pairs(data[f"circuit_{side}"]) == circuit_by_mass(grid, 0.9)
        assert data["circuits"][side]["size"] == len(data[f"circuit_{side}"])
    assert set(chosen) <= set(_pairs(data["circuit_post"]))
    assert read_heads_file(out) == _pairs(data["emergent"])


# ---------------------------------------------------------------- 1. thinking on / off


def test_compare_thinking_attributes_each_mode_against_the_other(
    tmp_path: Path, short_rows: list, capsys: pytest.CaptureFixture
) -> None:
    """On a tiny Qwen3 whose template honours enable_thinking: each mode's importance is exactly
    the attribution of its own prompt and opening against the other mode's opening; emergent
    heads are in the think-on circuit only, compensatory heads in the think-off one only."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness_ext.discovery.attribution import attribute, greedy_opening

    folder = save_tiny_thinking_checkpoint(tmp_path / "qwen3")
    out = tmp_path / "heads.json"
    assert (
        run_discover(
            _args(
                "--model",
                str(folder),
                "--compare-thinking",
                "--limit",
                "2",
                "--opening-tokens",
                "5",
                "--ig-steps",
                "2",
                "--method",
                "eap-ig",
                "--device",
                "cpu",
                "-o",
                str(out),
            )
        )
        == 0
    )
    data = json.loads(out.read_text())
    settings = data["settings"]
    assert (
        settings["compare"] == "thinking"
        and settings["corrupt"] == "base"
        and settings["skipped"] == []
    )
    assert settings["roles"] == {"post": "thinking on", "base": "thinking off"}
    assert settings["model_post"].endswith("(thinking on)") and settings["model_base"].endswith(
        "(thinking off)"
    )
    assert settings["circuit"] == {
        "rule": "mass",
        "mass": 0.8,
    }  # the default here: sizes may differ

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    expected = {"on": torch.zeros(2, 4), "off": torch.zeros(2, 4)}
    for _, row in ROWS[:2]:
        on = prompt_ids(tokenizer, row, {"enable_thinking": True})
        off = prompt_ids(tokenizer, row, {"enable_thinking": False})
        assert (
            off == on + tokenizer("<think>\n\n</think>\n\n", add_special_tokens=False)["input_ids"]
        )
        opening = {
            m: greedy_opening(model, p, 5, [tokenizer.eos_token_id])
            for m, p in (("on", on), ("off", off))
        }
        n = min(map(len, opening.values()))
        expected["on"] += attribute(model, on, opening["on"][:n], opening["off"][:n], 2).abs()
        expected["off"] += attribute(model, off, opening["off"][:n], opening["on"][:n], 2).abs()
    for mode, side in (("on", "post"), ("off", "base")):
        found = torch.tensor(head_grid(data["heads"], f"importance_{side}"))
        assert torch.allclose(found, expected[mode], rtol=1e-5, atol=1e-9)
        assert _pairs(data[f"circuit_{side}"]) == circuit_by_mass(expected[mode].tolist(), 0.8)

    on_set, off_set = set(_pairs(data["circuit_post"])), set(_pairs(data["circuit_base"]))
    assert set(_pairs(data["emergent"])) == on_set - off_set
    assert set(_pairs(data["compensatory"])) == off_set - on_set
    assert {(h["layer"], h["head"]) for h in data["heads"] if h["compensatory"]} == off_set - on_set
    assert data["circuits"]["overlap"]["both"] == len(on_set & off_set)
    printed = capsys.readouterr().out
    assert (
        f"thinking on {len(on_set)} heads, thinking off {len(off_set)} heads" in printed
        and f"overlap {len(on_set & off_set)} (Jaccard" in printed
    )
    assert read_heads_file(out) == _pairs(data["emergent"])
    assert (tmp_path / "heads.png").read_bytes()[:4] == b"\x89PNG"


def test_planted_thinking_importances_give_emergent_and_compensatory_heads() -> None:
    """Think-on importance on three heads, think-off importance on two of them and three more:
    one emergent head, three compensatory ones (most negative effect first), both sizes."""
    from harness_ext.discovery.thinking import ROLES, add_thinking, thinking_lines

    on = [[8.0, 0.0, 5.0, 0.0], [0.0, 6.0, 0.0, 0.1]]
    off = [[4.0, 3.0, 0.0, 0.0], [2.0, 3.0, 0.0, 1.0]]
    result = add_thinking(build_result(on, off, CircuitRule("mass", mass=0.95), {"roles": ROLES}))
    assert _pairs(result["circuit_post"]) == [(0, 0), (1, 1), (0, 2)]
    assert _pairs(result["circuit_base"]) == [(0, 0), (0, 1), (1, 1), (1, 0), (1, 3)]
    assert _pairs(result["emergent"]) == [(0, 2)]
    assert _pairs(result["compensatory"]) == [(0, 1), (1, 0), (1, 3)]  # effect -1, -1, -0.82
    assert [round(h["effect"], 2) for h in result["compensatory"]] == [-1.0, -1.0, -0.82]
    assert thinking_lines(result) == [
        "circuits (the fewest heads carrying 95% of the total importance): thinking on 3 heads, "
        "thinking off 5 heads (off/on 1.67); overlap 2 (Jaccard 0.33)",
        "1 emergent heads (thinking on only): L0H2",
        "3 compensatory heads (thinking off only): L0H1, L1H0, L1H3",
    ]


def test_a_template_that_ignores_enable_thinking_is_refused(
    tmp_path: Path, short_rows: list, no_models: None
) -> None:
    """Refused from the tokenizer alone, before the weights load."""
    save_tiny_thinking_checkpoint(tmp_path / "plain", chat_template=CHAT_TEMPLATE)
    with pytest.raises(
        SparksError,
        match=r"chat template of .*plain ignores enable_thinking: thinking "
        r"on and off give the same prompt tokens",
    ):
        run_discover(
            _args(
                "--model",
                str(tmp_path / "plain"),
                "--compare-thinking",
                "--device",
                "cpu",
                "-o",
                str(tmp_path / "heads.json"),
            )
        )
    from harness_ext.testing import tiny_model, tiny_tokenizer

    tiny_model("qwen3").save_pretrained(tmp_path / "bare")
    tiny_tokenizer().save_pretrained(tmp_path / "bare")
    with pytest.raises(SparksError, match="has no chat template; --compare-thinking needs one"):
        run_discover(
            _args(
                "--model",
                str(tmp_path / "bare"),
                "--compare-thinking",
                "--device",
                "cpu",
                "-o",
                str(tmp_path / "heads.json"),
            )
        )
    assert not (tmp_path / "heads.json").exists()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--base", "b"], "pairs --model with itself .* cannot take --base"),
        (["--samples", "s.jsonl"], "cannot take --samples"),
        (["--chat-template-args", '{"enable_thinking": true}'], "sets enable_thinking itself"),
        (["--circuit-size", "5"], "--circuit-size makes them equal; use --circuit-mass"),
        (["--chat-template-args", "{oops"], "--chat-template-args '{oops' is not valid JSON"),
        (["--chat-template-args", "[1]"], "give a JSON object of template variables"),
    ],
)
def test_compare_thinking_refuses_what_it_cannot_do(
    argv: list[str], message: str, no_models: None
) -> None:
    with pytest.raises(SparksError, match=message):
        run_discover(_args("--compare-thinking", *argv))


def test_chat_template_args_reach_the_template(no_models: None) -> None:
    from harness_ext.tasks.scoring import doc_to_text
    from harness_ext.testing import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    tokenizer.chat_template = THINKING_TEMPLATE.replace("assistant\n", "assistant {{ tone }}\n")
    row = ROWS[0][1]
    text = "".join(
        map(chr, prompt_ids(tokenizer, row, {"tone": "terse", "enable_thinking": False}))
    )
    assert text.endswith("assistant terse\n<think>\n\n</think>\n\n")
    bare = tiny_tokenizer()
    with pytest.raises(SparksError, match="the tokenizer has no chat template; drop them"):
        prompt_ids(bare, row, {"tone": "terse"})
    assert prompt_ids(bare, row) == bare(doc_to_text(row))["input_ids"]  # as before, without args
    with pytest.raises(
        SparksError, match="--base-chat-template-args is for BASE's prompts; add --base"
    ):
        run_discover(_args("--base-chat-template-args", "{}"))


def test_base_chat_template_args_render_base_prompts_with_its_own_template(
    tmp_path: Path, short_rows: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POST keeps its template; BASE's prompts are BASE's template with its own variables."""
    from harness_ext.testing import tiny_model, tiny_tokenizer

    templates = {
        "post": THINKING_TEMPLATE,
        "base": CHAT_TEMPLATE.replace("assistant\n", "{{ who }}\n"),
    }
    tokenizers = {}
    for name, template in templates.items():
        tokenizers[name] = tiny_tokenizer()
        tokenizers[name].chat_template = template
        tiny_model("llama", 0).save_pretrained(tmp_path / name)
        tokenizers[name].save_pretrained(tmp_path / name)
    seen = []
    real = discovery.discover_heads
    monkeypatch.setattr(
        discovery,
        "discover_heads",
        lambda post, problems, *a, **k: seen.append(problems) or real(post, problems, *a, **k),
    )
    common = [
        "--model",
        str(tmp_path / "post"),
        "--base",
        str(tmp_path / "base"),
        "--limit",
        "2",
        "--opening-tokens",
        "3",
        "--ig-steps",
        "1",
        "--device",
        "cpu",
        "-o",
        str(tmp_path / "h.json"),
    ]
    assert (
        run_discover(
            _args(
                *common,
                "--chat-template-args",
                '{"enable_thinking": false}',
                "--base-chat-template-args",
                '{"who": "tutor"}',
            )
        )
        == 0
    )
    assert run_discover(_args(*common)) == 0
    for (_, row), own, plain in zip(ROWS, *seen):
        assert own.prompt("post") == tuple(
            prompt_ids(tokenizers["post"], row, {"enable_thinking": False})
        )
        assert own.prompt("base") == tuple(prompt_ids(tokenizers["base"], row, {"who": "tutor"}))
        assert "".join(map(chr, own.prompt("base"))).endswith("<|im_end|>\n<|im_start|>tutor\n")
        assert plain.base_prompt_ids is None and plain.prompt("base") == plain.prompt("post")
    settings = json.loads((tmp_path / "h.json").read_text())["settings"]
    assert settings["chat_template_args"] is None and settings["base_chat_template_args"] is None


# ---------------------------------------------------------------- 2. checkpoints and the reward


def _write_state(folder: Path, step: int | None, history: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"log_history": history}
    if step is not None:
        state["global_step"] = step
    (folder / "trainer_state.json").write_text(json.dumps(state))


LOGGED = [
    (50, 0.1),
    (100, 0.3),
    (150, 0.4),
    (200, 0.6),
    (250, 0.8),
    (300, 1.0),
    (350, 0.9),
    (400, 1.0),
]


def _history(up_to: int, key: str = "reward") -> list[dict[str, Any]]:
    """A TRL-like log: a reward entry per 50 steps, with the loss, a std and other rewards beside."""
    rows: list[dict[str, Any]] = [
        {"step": s, key: r, "reward_std": 0.1, "loss": 0.5, "rewards/format_reward/std": 0.2}
        for s, r in LOGGED
        if s <= up_to
    ]
    return rows + [{"step": up_to, "train_runtime": 12.0}]


def test_rewards_from_trainer_state(tmp_path: Path) -> None:
    """The mean of the rewards logged since the previous checkpoint, or the last one."""
    from harness_ext.discovery.rewards import read_checkpoint_rewards

    names = [str(tmp_path / f"checkpoint-{s}") for s in (100, 200, 400)]
    for name, step in zip(names, (100, 200, 400)):
        _write_state(Path(name), step, _history(step))
    since = read_checkpoint_rewards(names)
    assert since.steps == (100, 200, 400) and since.key == "reward"
    assert since.rewards == pytest.approx((0.2, 0.5, 0.925))  # 400: mean of 250..400
    assert since.describe() == {
        "reward_key": "reward",
        "reward_source": "trainer_state.json",
        "reward_window": "since-previous",
    }
    assert read_checkpoint_rewards(names, window="last").rewards == pytest.approx((0.3, 0.6, 1.0))


def test_trl_reward_keys(tmp_path: Path) -> None:
    from harness_ext.discovery.rewards import pick_reward_key, read_checkpoint_rewards

    folder = tmp_path / "checkpoint-100"
    _write_state(folder, None, _history(100, key="rewards/accuracy_reward/mean"))
    found = read_checkpoint_rewards([str(folder)])
    assert found.key == "rewards/accuracy_reward/mean" and found.steps == (
        100,
    )  # step from the name
    assert found.rewards == pytest.approx((0.2,))
    two = [{"step": 1, "rewards/a/mean": 1.0, "rewards/b/mean": 0.0}]
    with pytest.raises(
        SparksError,
        match=r"several rewards \(rewards/a/mean, rewards/b/mean\); pick one "
        "with --reward-key",
    ):
        pick_reward_key(two)
    with pytest.raises(
        SparksError, match=r"logs no reward \(keys: loss\); name one with --reward-key"
    ):
        pick_reward_key([{"step": 1, "loss": 0.3}])
    assert read_checkpoint_rewards([str(folder)], key="reward_std").rewards == pytest.approx((0.1,))


@pytest.mark.parametrize(
    "case,message",
    [
        (
            "no step",
            r"no step for .*ckpt-a: it needs a trainer_state.json with global_step or a "
            r"checkpoint-N folder name",
        ),
        ("order", r"--checkpoints must be in training order; their steps are 200, 100"),
        (
            "gap",
            r"no reward logged after step 100 up to step 120 for checkpoint .*; use "
            r"--reward-window last",
        ),
        ("missing state", r"no trainer_state.json in .*checkpoint-200: cannot read their rewards"),
        ("bad json", r"trainer_state.json is not valid JSON"),
    ],
)
def test_reward_errors_name_the_fix(tmp_path: Path, case: str, message: str) -> None:
    from harness_ext.discovery.rewards import read_checkpoint_rewards

    first, second = tmp_path / "checkpoint-100", tmp_path / "checkpoint-200"
    _write_state(first, 100, _history(100))
    if case == "no step":
        second = tmp_path / "ckpt-a"
        _write_state(second, None, _history(200))
    elif case == "order":
        _write_state(second, 200, _history(200))
        first, second = second, first
    elif case == "gap":
        second = tmp_path / "checkpoint-120"
        _write_state(second, 120, _history(120))
    elif case == "bad json":
        second.mkdir()
        (second / "trainer_state.json").write_text("{")
    with pytest.raises(SparksError, match=message):
        read_checkpoint_rewards([str(first), str(second)])


def test_rewards_file(tmp_path: Path) -> None:
    """--rewards: CSV or JSON logs, with the same window; checkpoints without a step take one
    row each, in order."""
    from harness_ext.discovery.rewards import read_checkpoint_rewards

    names = [str(tmp_path / f"checkpoint-{s}") for s in (100, 200)]
    csv_file = tmp_path / "rewards.csv"
    csv_file.write_text("step,reward\n" + "".join(f"{s},{r}\n" for s, r in LOGGED))
    assert read_checkpoint_rewards(names, csv_file).rewards == pytest.approx((0.2, 0.5))
    json_file = tmp_path / "rewards.json"
    json_file.write_text(json.dumps([{"step": s, "score": r} for s, r in LOGGED]))
    found = read_checkpoint_rewards(names, json_file, key="score", window="last")
    assert found.rewards == pytest.approx((0.3, 0.6)) and found.source == str(json_file)
    unnamed = [str(tmp_path / "a"), str(tmp_path / "b")]
    rows = tmp_path / "two.csv"
    rows.write_text("step,reward\n10,0.5\n20,0.7\n")
    assert read_checkpoint_rewards(unnamed, rows).steps == (10, 20)
    with pytest.raises(
        SparksError, match="has 8 rows for 2 checkpoints; give one row per checkpoint"
    ):
        read_checkpoint_rewards(unnamed, csv_file)
    bad = tmp_path / "bad.csv"
    bad.write_text("step,reward\n10,high\n")
    with pytest.raises(
        SparksError, match=r"bad.csv, row 1: needs a whole 'step' and a finite 'reward'"
    ):
        read_checkpoint_rewards(names, bad)
    headless = tmp_path / "headless.csv"
    headless.write_text("a,b\n1,2\n")
    with pytest.raises(
        SparksError, match="expected a CSV header with 'step' and 'reward' columns, found a, b"
    ):
        read_checkpoint_rewards(names, headless)


def test_no_rewards_anywhere(tmp_path: Path) -> None:
    from harness_ext.discovery.rewards import read_checkpoint_rewards

    found = read_checkpoint_rewards([str(tmp_path / "ckpt-1"), str(tmp_path / "checkpoint-7")])
    assert found.steps == (None, 7) and found.rewards == (None, None) and found.source is None


def test_spearman() -> None:
    from harness_ext.discovery.stats import ranks, spearman, t_two_sided_p

    assert ranks([3.0, 1.0, 3.0, 2.0]) == [3.5, 1.0, 3.5, 2.0]
    three = spearman([0.3, 0.4, 0.05], [1 / 3, 3 / 5, 1 / 4])
    assert (three.rho, three.p, three.n) == (
        1.0,
        pytest.approx(1 / 3),
        3,
    )  # 2 of 3! orders as extreme
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]).as_dict() == {
        "rho": -1.0,
        "p": pytest.approx(1 / 12),
        "n": 4,
        "method": "exact permutation test, two-sided",
        "note": None,
    }
    assert spearman([1, 2], [1, 2]).note == "needs at least 3 pairs, has 2"
    assert spearman([1, 1, 1], [1, 2, 3]).note == "one of the variables is constant"
    x = [0.1, 0.5, 0.2, 0.9, 0.4, 0.4, 0.8, 0.3, 0.7, 0.6, 1.0, 0.0]  # with a tie
    y = [0.2, 0.4, 0.1, 0.8, 0.5, 0.3, 0.9, 0.2, 0.5, 0.7, 0.6, 0.1]
    # scipy.stats.permutation_test(..., permutation_type="pairings", n_resamples=inf) on the first
    # six pairs gives 0.0444 = 32/720 (minutes to run, so the value is written here)
    assert spearman(x[:6], y[:6]).p == pytest.approx(32 / 720)
    stats = pytest.importorskip("scipy.stats")
    for n in (6, 12):
        ours, theirs = spearman(x[:n], y[:n]), stats.spearmanr(x[:n], y[:n])
        assert ours.rho == pytest.approx(theirs.statistic, abs=1e-12)
    assert spearman(x, y).p == pytest.approx(
        stats.spearmanr(x, y).pvalue, rel=1e-9
    )  # t approximation
    assert t_two_sided_p(0.3, 10) == pytest.approx(
        2 * stats.t.sf(0.3 * (8 / 0.91) ** 0.5, 8), rel=1e-9
    )


# planted training run: base with every head off; each checkpoint switches on its own heads only
A, B, C, D, E = (0, 1), (1, 2), (0, 3), (1, 0), (0, 0)
PLANTED = {100: [A, B], 200: [A, B, C], 300: [A, C, D, E], 400: [C, D, E]}


def test_checkpoint_circuits_against_the_reward(
    tmp_path: Path, short_rows: list, capsys: pytest.CaptureFixture
) -> None:
    """Four planted checkpoints with a trainer_state.json each: per checkpoint the step, the
    reward, the heads appearing, surviving and pruned; between checkpoints the Jaccard distance
    of the circuits (sizes 2, 3, 4, 3) and the reward change; their Spearman correlation."""
    from harness_ext.testing import tiny_model, tiny_tokenizer

    every = [(layer, head) for layer in range(2) for head in range(4)]
    models = {"base": plant_heads(tiny_model("llama", 0), every, 0.0)}
    for step, heads in PLANTED.items():
        models[f"checkpoint-{step}"] = plant_heads(
            tiny_model("llama", 0), [h for h in every if h not in heads], 0.0
        )
    for name, model in models.items():
        model.save_pretrained(tmp_path / name)
        tiny_tokenizer().save_pretrained(tmp_path / name)
    for step in PLANTED:
        _write_state(tmp_path / f"checkpoint-{step}", step, _history(step))
    out = tmp_path / "heads.json"
    assert (
        run_discover(
            _args(
                "--checkpoints",
                *[str(tmp_path / f"checkpoint-{s}") for s in PLANTED],
                "--base",
                str(tmp_path / "base"),
                "--limit",
                "2",
                "--opening-tokens",
                "4",
                "--ig-steps",
                "2",
                "--circuit-mass",
                "1",
                "--device",
                "cpu",
                "-o",
                str(out),
            )
        )
        == 0
    )
    data = json.loads(out.read_text())
    ckpts = data["checkpoints"]
    assert [sorted(_pairs(c["circuit_post"])) for c in ckpts] == [
        sorted(h) for h in PLANTED.values()
    ]
    assert [c["step"] for c in ckpts] == [100, 200, 300, 400]
    assert [c["reward"] for c in ckpts] == pytest.approx([0.2, 0.5, 0.9, 0.95])
    assert [c["circuit_size"] for c in ckpts] == [2, 3, 4, 3]
    assert [c["since"] for c in ckpts] == [
        "base",
        *[str(tmp_path / f"checkpoint-{s}") for s in (100, 200, 300)],
    ]
    turnover = [
        (_pairs(c["heads_appearing"]), _pairs(c["heads_surviving"]), _pairs(c["heads_pruned"]))
        for c in ckpts
    ]
    assert turnover == [
        ([A, B], [], []),
        ([C], [A, B], []),
        ([E, D], [A, C], [B]),
        ([], [E, C, D], [A]),
    ]
    dynamics = data["dynamics"]
    assert [c["circuit_change"] for c in dynamics["changes"]] == pytest.approx(
        [1 / 3, 3 / 5, 1 / 4]
    )
    assert [c["reward_change"] for c in dynamics["changes"]] == pytest.approx([0.3, 0.4, 0.05])
    assert dynamics["spearman"] == {
        "rho": 1.0,
        "p": pytest.approx(1 / 3),
        "n": 3,
        "method": "exact permutation test, two-sided",
        "note": None,
    }
    assert dynamics["reward_key"] == "reward" and dynamics["reward_window"] == "since-previous"
    assert sorted(_pairs(data["emergent"])) == sorted(PLANTED[400])  # the last checkpoint on top
    printed = capsys.readouterr().out
    assert "circuit change 0.33, reward change +0.3" in printed
    assert "Spearman rho +1.00 (n 3, p 0.333, exact permutation test, two-sided)" in printed
    assert (tmp_path / "heads.checkpoints.png").read_bytes()[:4] == b"\x89PNG"


def test_series_plot_draws_the_reward_on_the_step_axis(tmp_path: Path) -> None:
    """The plot of a series with rewards has a reward panel above the head grid, both on steps."""
    from harness_ext import charts
    from harness_ext.discovery.rewards import CheckpointRewards
    from harness_ext.discovery.series import build_series, write_series_plot

    results = [
        build_result([[3.0, 0.0], [1.0, 0.0]], None, 1, {}),
        build_result([[0.0, 3.0], [1.0, 0.0]], None, 1, {}),
    ]
    series = build_series(
        ["checkpoint-10", "checkpoint-30"],
        results,
        CheckpointRewards((10, 30), (0.25, 0.75), "reward", "trainer_state.json"),
    )
    figures = []
    original = charts.series_figure
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            charts,
            "series_figure",
            lambda *a, **k: figures.append(original(*a, **k)) or figures[-1],
        )
        assert write_series_plot(series, tmp_path / "series.png")
    reward_ax, grid_ax = figures[0].axes
    reward_line = reward_ax.get_lines()[0]
    assert list(reward_line.get_xdata()) == [10, 30] and list(reward_line.get_ydata()) == [
        0.25,
        0.75,
    ]
    assert [t.get_text() for t in grid_ax.get_xticklabels()] == ["10", "30"]
    assert grid_ax.get_xlabel() == "step"
    assert (tmp_path / "series.png").read_bytes()[:4] == b"\x89PNG"
    assert series["dynamics"]["spearman"]["note"] == "needs at least 3 pairs, has 1"
