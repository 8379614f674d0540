"""sparks discover: EAP-IG head attribution finds the heads that a "post-trained" model added.

The model pairs are tiny random models: the base has a few chosen heads switched off (their
o_proj columns zeroed) and the post model has them switched on and scaled up, so those heads,
and only those, must come out as emergent.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness_ext.discovery import (
    Attribution,
    Problem,
    configure_discover,
    discover_heads,
    run_discover,
)
from harness_ext.discovery.heads_file import (
    build_result,
    circuit,
    circuit_size,
    write_heatmap,
    write_json,
)
from harness_ext.errors import SparksError
from harness_ext.interventions.spec import parse_spec

PROMPTS = ["What is 2+3? ", "Solve x+1=4. ", "Area of a 3x4 box? ", "Is 91 prime? "]
CHOSEN = [(0, 1), (1, 2)]


def _problems() -> list[Problem]:
    return [Problem(f"p{i}", tuple(text.encode())) for i, text in enumerate(PROMPTS)]


def _set_heads(model, heads, factor: float):  # noqa: ANN001, ANN202
    import torch

    d = model.config.head_dim
    with torch.no_grad():
        for layer, head in heads:
            weight = model.model.layers[layer].self_attn.o_proj.weight
            weight[:, head * d : (head + 1) * d] *= factor
    return model


def _case(method: str, arch: str, seed: int, text: str, n_open: int):  # noqa: ANN202
    """A tiny model, a prompt, the model's greedy opening and the scoring function of ``method``."""
    from harness_ext.discovery.attribution import attribute, fisher_attribute, greedy_opening
    from harness_ext.testing import tiny_model

    model = tiny_model(arch, seed)
    prompt = list(text.encode())
    return (
        model,
        prompt,
        greedy_opening(model, prompt, n_open),
        attribute if method == "eap-ig" else fisher_attribute,
    )


def _save(folder: Path, models: dict) -> None:  # noqa: ANN001
    from harness_ext.testing import tiny_tokenizer

    for name, model in models.items():
        model.save_pretrained(folder / name)
        tiny_tokenizer().save_pretrained(folder / name)


def _discover_pair(folder: Path, *argv: str) -> dict:
    """Save the tiny post/base pair in ``folder``, run ``sparks discover`` on it with the quick
    settings plus ``argv``, and return heads.json (written to ``folder / "heads.json"``)."""
    post, base = _pair()
    _save(folder, {"post": post, "base": base})
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    args = parser.parse_args(
        [
            "--model",
            str(folder / "post"),
            "--base",
            str(folder / "base"),
            "--limit",
            "2",
            "--ig-steps",
            "2",
            "--circuit-size",
            "2",
            "--device",
            "cpu",
            "-o",
            str(folder / "heads.json"),
            *argv,
        ]
    )
    assert run_discover(args) == 0
    return json.loads((folder / "heads.json").read_text())


def _pair(arch: str = "llama", seed: int = 0):  # noqa: ANN202
    from harness_ext.testing import tiny_model

    base = _set_heads(tiny_model(arch, seed), CHOSEN, 0.0)  # the heads are absent in the base
    post = _set_heads(tiny_model(arch, seed), CHOSEN, 8.0)  # and carry the output after training
    return post, base


@pytest.mark.parametrize(
    "arch,corrupt,method",
    [
        ("llama", "base", "eap-ig"),
        ("qwen2", "base", "eap-ig"),
        ("llama", "zeros", "eap-ig"),
        ("qwen3", "next", "eap-ig"),
        ("llama", "base", "fisher"),
        ("qwen3", "next", "fisher"),
        ("llama", "base", "edges"),
        ("qwen2", "next", "edges"),
    ],
)
def test_emergent_heads_are_exactly_the_chosen_ones(arch: str, corrupt: str, method: str) -> None:
    post, base = _pair(arch)
    edges = method == "edges"
    how = Attribution(
        opening_tokens=8,
        ig_steps=3,
        corrupt=corrupt,
        method="eap-ig" if edges else method,
        edges=edges,
    )
    found = discover_heads(post, _problems(), how, base=base)
    result = build_result(found["importance_post"], found["importance_base"], 2, {})
    assert sorted((h["layer"], h["head"]) for h in result["emergent"]) == CHOSEN
    for head in result["heads"]:
        if (head["layer"], head["head"]) in CHOSEN:
            assert head["importance_base"] == 0 and head["effect"] > 0.99
            assert head["in_circuit_post"] and not head["in_circuit_base"]


def test_without_base_next_opening_is_the_corruption() -> None:
    post, _ = _pair()
    found = discover_heads(post, _problems(), Attribution(opening_tokens=8, ig_steps=2))
    assert found["corrupt"] == "next" and found["importance_base"] is None
    result = build_result(found["importance_post"], None, 2, {})
    assert result["circuit_base"] is None and len(result["emergent"]) == 2
    assert all(h["effect"] is None and h["in_circuit_base"] is None for h in result["heads"])


def test_one_problem_without_base_is_refused() -> None:
    post, _ = _pair()
    with pytest.raises(SparksError, match="at least 2 problems"):
        discover_heads(post, _problems()[:1], Attribution(opening_tokens=4, ig_steps=1))


@pytest.mark.parametrize("method", ["eap-ig", "fisher"])
def test_attribution_tracks_zero_ablation(method: str) -> None:
    """With zeros as the baseline, scores rank heads like the KL of ablating each head alone."""
    import torch

    from harness_ext.testing import reference_hook

    model, prompt, clean, score = _case(method, "llama", 1, PROMPTS[0], 10)
    scores = score(model, prompt, clean, None, 8).abs().flatten()
    ids, start = torch.tensor([prompt + clean]), len(prompt) - 1
    with torch.no_grad():
        ref = torch.log_softmax(model(ids).logits[0, start:-1], -1)
        truth = []
        for layer in range(2):
            for head in range(4):
                with reference_hook(model, {(layer, head): torch.zeros_like}):
                    patched = torch.log_softmax(model(ids).logits[0, start:-1], -1)
                truth.append(float((ref.exp() * (ref - patched)).sum()))
    rank = lambda v: torch.tensor(v).argsort().argsort().float()  # noqa: E731
    rho = torch.corrcoef(torch.stack([rank(scores.tolist()), rank(truth)]))[0, 1]
    assert rho > 0.6


def test_circuit_rules() -> None:
    assert (
        circuit_size(0.1, 270) == 27 and circuit_size(5, 270) == 5 and circuit_size(0.001, 8) == 1
    )
    assert circuit([[0.0, 3.0], [3.0, 1.0]], 2) == [(0, 1), (1, 0)]
    assert circuit([[0.0, 0.0], [0.0, 1.0]], 3) == [(1, 1)]  # zero importance: never in a circuit


def test_heads_file_is_accepted_by_interventions(tmp_path) -> None:  # noqa: ANN001
    importance_post = [[5.0, 1.0, 0.2], [4.0, 0.1, 3.0]]
    importance_base = [[5.0, 1.0, 0.2], [0.0, 0.1, 0.05]]
    result = build_result(importance_post, importance_base, 3, {"ig_steps": 5})
    assert [(h["layer"], h["head"]) for h in result["emergent"]] == [(1, 0), (1, 2)]
    path = tmp_path / "heads.json"
    write_json(result, path)
    assert json.loads(path.read_text())["settings"] == {"ig_steps": 5}
    assert str(parse_spec(f"zero:@{path}#2").normalized()) == "zero:L1H0+L1H2"
    assert write_heatmap(result, tmp_path / "heads.png")
    assert (tmp_path / "heads.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "heads.json",
        "heads.png",
    ]  # no temp files


def test_cli_errors_before_model_work(tmp_path) -> None:  # noqa: ANN001
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    for argv, message in [
        (["--ig-steps", "0"], "--ig-steps"),
        (["--tasks", "nope"], "unknown task"),
        (["--corrupt", "base"], "needs --base"),
        (["-o", str(tmp_path)], "is a folder"),
    ]:
        with pytest.raises(SparksError, match=message):
            run_discover(parser.parse_args(argv))


def test_cli_end_to_end(tmp_path, local_data, capsys) -> None:  # noqa: ANN001
    """``run_discover`` on saved tiny models and two AMC problems: heads.json, the heat map, and a
    file the interventions accept."""
    data = _discover_pair(tmp_path, "--opening-tokens", "4")
    out = tmp_path / "heads.json"
    assert len(data["heads"]) == 8 and len(data["circuit_post"]) == 2
    assert len(data["settings"]["problem_ids"]) + len(data["settings"]["skipped"]) == 2
    assert data["settings"]["corrupt"] == "base" and data["settings"]["ig_steps"] == 2
    assert (tmp_path / "heads.png").is_file()
    printed = capsys.readouterr()
    assert "emergent heads" in printed.out
    for phase in (
        "loading the base model",
        "post: generating openings",
        "base: generating openings",
        "attributing (fisher, post and base)",
    ):
        assert phase in printed.err  # progress with an ETA, per model and per problem
    assert "2/2" in printed.err
    assert sorted((h["layer"], h["head"]) for h in data["emergent"]) == CHOSEN
    assert str(parse_spec(f"zero:@{out}#2").normalized()) == "zero:L0H1+L1H2"


def test_checkpoints_track_heads_appearing_and_disappearing(
    tmp_path,
    local_data,
    capsys,  # noqa: ANN001
    monkeypatch,
) -> None:  # noqa: ANN001
    """Three "training checkpoints" of one base, each with its own pair of planted heads: the
    series reports exactly those pairs as emergent, and what appeared and disappeared; the
    base's openings are generated once for the series."""
    from harness_ext.discovery import attribution as discovery_attr
    from harness_ext.testing import tiny_model

    generated = []
    original = discovery_attr.greedy_opening
    monkeypatch.setattr(
        discovery_attr, "greedy_opening", lambda *a, **k: generated.append(1) or original(*a, **k)
    )

    a, b, c, d = (0, 1), (1, 2), (0, 3), (1, 0)
    planted = {"ckpt-100": [a, b], "ckpt-200": [a, c], "ckpt-300": [c, d]}
    models = {"base": _set_heads(tiny_model("llama", 0), [a, b, c, d], 0.0)}
    for name, heads in planted.items():
        model = _set_heads(tiny_model("llama", 0), [h for h in (a, b, c, d) if h not in heads], 0.0)
        models[name] = _set_heads(model, heads, 8.0)
    _save(tmp_path, models)
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    out = tmp_path / "heads.json"
    args = parser.parse_args(
        [
            "--checkpoints",
            *[str(tmp_path / n) for n in planted],
            "--base",
            str(tmp_path / "base"),
            "--limit",
            "3",
            "--opening-tokens",
            "6",
            "--ig-steps",
            "2",
            "--circuit-size",
            "2",
            "--device",
            "cpu",
            "-o",
            str(out),
        ]
    )
    assert run_discover(args) == 0
    assert len(generated) == 3 * 3 + 3  # each checkpoint's openings, the base's once
    data = json.loads(out.read_text())
    emergent = [
        sorted((h["layer"], h["head"]) for h in ckpt["emergent"]) for ckpt in data["checkpoints"]
    ]
    assert emergent == [sorted(heads) for heads in planted.values()]
    assert sorted((h["layer"], h["head"]) for h in data["emergent"]) == sorted(planted["ckpt-300"])
    steps = [
        (
            [(h["layer"], h["head"]) for h in t["appeared"]],
            [(h["layer"], h["head"]) for h in t["disappeared"]],
        )
        for t in data["transitions"]
    ]
    assert steps == [([c], [b]), ([d], [a])]
    rows = {(r["layer"], r["head"]): r["emergent"] for r in data["appearance"]}
    assert rows == {
        a: [True, True, False],
        b: [True, False, False],
        c: [False, True, True],
        d: [False, False, True],
    }
    assert [Path(m).name for m in data["settings"]["checkpoints"]] == list(planted)
    assert (tmp_path / "heads.png").is_file()
    assert (tmp_path / "heads.checkpoints.png").read_bytes()[:4] == b"\x89PNG"
    assert "ckpt-100 -> " in capsys.readouterr().out
    assert str(parse_spec(f"zero:@{out}#2").normalized()) == "zero:L0H3+L1H0"


def test_checkpoints_and_model_together_are_refused() -> None:
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    with pytest.raises(SparksError, match="not both"):
        run_discover(parser.parse_args(["--model", "m", "--checkpoints", "a", "b"]))


@pytest.mark.parametrize("method", ["eap-ig", "fisher"])
def test_batching_the_steps_does_not_change_the_scores(method: str) -> None:
    """--batch-size bounds memory: the steps (or samples) in chunks give the same scores."""
    import torch

    model, prompt, clean, score = _case(method, "qwen2", 2, PROMPTS[1], 6)
    whole = score(model, prompt, clean, None, 7)
    assert torch.allclose(score(model, prompt, clean, None, 7, 3), whole, rtol=1e-4, atol=1e-7)
    assert torch.allclose(score(model, prompt, clean, None, 7, 1), whole, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("arch", ["llama", "qwen2", "qwen3", "mistral"])
def test_edge_scores_sum_to_the_node_score(arch: str) -> None:
    """A head reaches the output only through the readers after it, so its edge scores add up
    to its node score; edges to readers before it are 0."""
    import torch

    from harness_ext.discovery.attribution import (
        attribute,
        edge_attribute,
        edge_targets,
        greedy_opening,
    )
    from harness_ext.testing import tiny_model

    model = tiny_model(arch, 1)
    prompt = list(PROMPTS[2].encode())
    clean = greedy_opening(model, prompt, 6)
    node = attribute(model, prompt, clean, None, 4)
    edges = edge_attribute(model, prompt, clean, None, 4, 3)
    assert edges.shape == (2, 4, 5) and edge_targets(2) == [
        "attn L0",
        "attn L1",
        "mlp L0",
        "mlp L1",
        "logits",
    ]
    assert torch.allclose(edges.sum(dim=-1), node, rtol=1e-4, atol=1e-5)
    assert (edges[1, :, :2] == 0).all() and (
        edges[1, :, 2] == 0
    ).all()  # layer 1 -> attn L0/L1, mlp L0
    assert (edges[0, :, 0] == 0).all() and edges[0, :, 1].abs().sum() > 0


def test_cli_edges(tmp_path, local_data) -> None:  # noqa: ANN001
    import torch

    from harness_ext.discovery.heads_file import top_edges

    data = _discover_pair(
        tmp_path, "--opening-tokens", "4", "--edges", "--top-edges", "6", "--edge-threshold", "0.01"
    )
    assert data["settings"]["level"] == "edges"
    post_edges = data["edges"]["post"]
    assert 1 <= len(post_edges) <= 6 and data["edges"]["base"] is not None
    assert [e["score"] for e in post_edges] == sorted(
        (e["score"] for e in post_edges), reverse=True
    )
    assert {(e["layer"], e["head"]) for e in post_edges[:2]} <= set(CHOSEN)
    assert sorted((h["layer"], h["head"]) for h in data["emergent"]) == CHOSEN
    scores = torch.tensor([[[0.0, 4.0, 1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 0.3]]])
    assert top_edges(scores, 5, 0.2) == [
        {"layer": 0, "head": 0, "to": "attn L1", "score": 4.0},
        {"layer": 0, "head": 0, "to": "mlp L0", "score": 1.0},
    ]
    assert len(top_edges(scores, 1, 0.0)) == 1 and len(top_edges(scores, 9, 0.0)) == 3
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    with pytest.raises(SparksError, match="--edges works with --method eap-ig"):
        run_discover(parser.parse_args(["--edges", "--method", "fisher"]))


def test_openings_from_an_lm_eval_samples_file(tmp_path) -> None:  # noqa: ANN001
    """--samples: POST's openings are its logged responses; the problems are the file's."""
    from harness_ext.reports.fixtures import FakeProblem, write_run

    problems = [
        FakeProblem(
            f"2022-AMC12A-{i}",
            "7",
            [f"We add {i} and 3, giving {i + 3}. " * 3],
            problem=f"What is {i} + 3?",
            number=i,
        )
        for i in (1, 2, 3)
    ]
    write_run(tmp_path / "run", {"amc_sparks_greedy": problems})
    settings = _discover_pair(
        tmp_path, "--samples", str(tmp_path / "run"), "--opening-tokens", "5"
    )["settings"]
    parser = argparse.ArgumentParser()
    configure_discover(parser)
    assert settings["problem_ids"] == ["2022-AMC12A-1", "2022-AMC12A-2"]
    assert (
        settings["openings"].startswith("post: read from")
        and settings["tasks"] == "amc_sparks_greedy"
    )
    assert settings["opening_lengths"] == [5, 5]
    (tmp_path / "bad.jsonl").write_text('{"doc": {"problem": "x"}, "resps": []}\n')
    for path, message in [
        (tmp_path / "none", "does not exist"),
        (tmp_path / "post", "no samples_"),
        (tmp_path / "bad.jsonl", "has no 'resps'"),
    ]:
        with pytest.raises(SparksError, match=message):
            run_discover(parser.parse_args(["--samples", str(path)]))
    with pytest.raises(SparksError, match="cannot serve --checkpoints"):
        run_discover(parser.parse_args(["--samples", str(tmp_path / "run"), "--checkpoints", "a"]))


def test_bfloat16_scores_follow_float32() -> None:
    """--dtype bfloat16 (the GPU setting): same heads on top, scores close to float32's."""
    import torch

    from harness_ext.discovery.attribution import attribute, edge_attribute

    model, prompt, clean, _ = _case("eap-ig", "llama", 1, PROMPTS[3], 8)
    full = attribute(model, prompt, clean, None, 4).abs()
    half = model.to(torch.bfloat16)
    low = attribute(half, prompt, clean, None, 4).abs()
    edges = edge_attribute(half, prompt, clean, None, 4, 2)
    assert low.dtype == torch.float32 and edges.dtype == torch.float32
    assert full.flatten().argmax() == low.flatten().argmax()
    assert torch.allclose(low, full, rtol=0.15, atol=0.05 * float(full.max()))
