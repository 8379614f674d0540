"""Generation facts (sparks_generation): recorded per response, in the order of resps."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness_ext.generation_facts import FACTS_KEY, generation_facts

WORDS = [f"w{i}" for i in range(60)]
EOS, PAD = 0, 1  # for the row tests; the word model pads with its end token


def _decode(tokens) -> str:
    return " ".join(f"w{t}" for t in tokens)


@pytest.mark.parametrize(
    "row, stop, expected",
    [
        ([9, 9, 5, 6, EOS, PAD, PAD], [], (3, "eos")),  # prompt of 2, the end token counted
        ([9, 9, 5, 6, 7, 8, 4], [], (5, "length")),
        ([9, 9, 5, 6, 7, 8, 4], ["w7"], (3, "stop_sequence")),  # what follows the stop is padding
        ([9, 9, 5, EOS, 7, 8, 4], ["w7"], (2, "eos")),  # a stop string after the end: eos
    ],
)
def test_facts_of_one_row(row, stop, expected) -> None:
    (fact,) = generation_facts([row], 2, 5, {EOS}, stop, _decode)
    assert (fact["generated_tokens"], fact["stop_reason"], fact["max_gen_toks"]) == (*expected, 5)


def _word_tokenizer():
    """Whitespace words, one token each: a response re-tokenizes to exactly its token count."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<eos>": EOS, **{w: i + 1 for i, w in enumerate(WORDS)}}  # no other special token
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="w0"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>", pad_token="<eos>")


@pytest.fixture(scope="module")
def word_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    folder = tmp_path_factory.mktemp("words")
    tokenizer = _word_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=EOS,
        pad_token_id=EOS,
        bos_token_id=EOS,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    with torch.no_grad():  # ends early often enough that lengths differ between responses
        model.lm_head.weight[EOS] = model.lm_head.weight[1:].mean(0) * 4
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _instance(prompt: str, gen_kwargs: dict, index: int):
    from lm_eval.api.instance import Instance

    return Instance(
        "generate_until", {"doc": index}, (prompt, gen_kwargs), index, metadata=("t", index, 1)
    )


def test_each_fact_belongs_to_its_response(word_model: Path) -> None:
    """Repeats share one request (and its arguments dict), HFLM sorts requests by length into
    batches: every fact must still be its own response's."""
    import torch

    from harness_ext.model import SparksLM

    lm = SparksLM(pretrained=str(word_model), device="cpu", batch_size=3)
    sampled = {"until": ["w7"], "max_gen_toks": 12, "do_sample": True, "temperature": 1.0}
    prompts = ["w3 w4", "w5 w6 w8 w9 w10 w11", "w12", "w13 w14 w15"]
    instances = [_instance(p, {**sampled}, i) for i, p in enumerate(prompts)]
    greedy = _instance(
        "w20 w21 w22 w23 w24", {"until": [], "max_gen_toks": 6, "do_sample": False}, 9
    )
    requests = [r for r in instances for _ in range(3)] + [greedy]  # lm-eval's clones
    torch.manual_seed(1)
    outputs = lm.generate_until(requests)
    by_request: dict[int, list[str]] = {}
    for request, text in zip(requests, outputs):
        by_request.setdefault(id(request), []).append(text)
    reasons = set()
    for request in [*instances, greedy]:
        facts = request.args[1][FACTS_KEY]
        texts = by_request[id(request)]
        assert len(facts) == len(texts)
        for fact, text in zip(facts, texts):
            words = len(text.split())
            extra = 0 if fact["stop_reason"] == "length" else 1  # the end token or "w7"
            assert fact["generated_tokens"] == words + extra, (fact, text)
            assert fact["max_gen_toks"] == request.args[1]["max_gen_toks"]
            assert (fact["stop_reason"] == "length") == (
                fact["generated_tokens"] == fact["max_gen_toks"]
            )
            reasons.add(fact["stop_reason"])
    assert reasons == {"eos", "stop_sequence", "length"}  # the test saw every kind
    assert len({len(t.split()) for texts in by_request.values() for t in texts}) > 3


@pytest.mark.parametrize("interventions", [None, "zero:L1H2"])
def test_a_cached_rerun_hits_the_cache(word_model: Path, tmp_path: Path, interventions) -> None:
    """lm-eval's cache keys on the request arguments: the facts (and the interventions) that
    sparks writes into them for the log must not make a rerun miss."""
    from lm_eval.api.model import CachingLM

    from harness_ext.model import SparksLM

    lm = SparksLM(pretrained=str(word_model), device="cpu", interventions=interventions)
    cached = CachingLM(lm, str(tmp_path / "cache.db"))
    calls = []
    real = lm.generate_until
    lm.generate_until = lambda requests, **kw: calls.append(len(requests)) or real(requests, **kw)
    args = {"until": [], "max_gen_toks": 5, "do_sample": False}
    first = [_instance("w3 w4", dict(args), 0), _instance("w5", dict(args), 1)]
    outputs = cached.generate_until(first)
    assert all(FACTS_KEY in r.args[1] for r in first) and calls == [2]
    assert all(("sparks_interventions" in r.args[1]) == bool(interventions) for r in first)
    again = [_instance("w3 w4", dict(args), 0), _instance("w5", dict(args), 1)]
    assert cached.generate_until(again) == outputs and calls == [2]  # all from the cache
    assert all(FACTS_KEY not in r.args[1] for r in again)  # the report then estimates
