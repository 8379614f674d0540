"""Head attribution for ``sparks discover``: greedy openings and EAP-IG at the level of heads.

A head is the slice ``[h*head_dim:(h+1)*head_dim]`` of the input of its layer's ``o_proj``
(one slice per query head). For one problem, with the prompt ``p``, the clean opening ``c`` and
the corrupted opening ``k`` (same length), attribution runs on the clean tokens ``p + c``:

* ``clean_h`` and ``corrupt_h`` are head h's activations in the model's own runs on ``p + c``
  and ``p + k`` (``corrupt_h = 0`` for ``corrupt=None``: zero ablation as the baseline);
* for each IG step alpha (midpoints ``(i + 0.5) / steps``) every head at once is set to
  ``corrupt_h + alpha * (clean_h - corrupt_h)`` by an input hook on each ``o_proj``;
  the patch is an additive constant, so gradients still flow through every later head;
* the metric is KL(clean || patched) of the next-token distributions at the response
  positions (the positions that predict the opening's tokens), summed over those positions;
* ``score_h = sum over positions and dims of (clean_h - corrupt_h) * mean_alpha dKL/d act_h``.

All IG steps share one batch: one forward and one backward per problem, whatever the number
of heads.

:func:`fisher_attribute` is a second-order alternative: it estimates, for each head alone, the
KL of replacing it by its corrupted value (others clean), ``1/2 delta_h^T F delta_h`` with the
Fisher information ``F`` of the clean next-token distributions, from sampled tokens (one
forward pass with gradients, the draws as rows of one batched backward pass). It matches
one-head-at-a-time zero ablation much more closely than EAP-IG from an all-heads-zero baseline
(benchmarks/discover.py). torch is imported inside the functions.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Sequence

from harness_ext.discovery.activations import (
    capture_inputs,
    corrupted_side,
    head_activations,
    patch_all,
    patch_heads,
    repeat_prefix,
    setup,
)
from harness_ext.discovery.memory import is_checkpointing
from harness_ext.formats.arch import get_arch

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel

    from harness_ext.formats.arch import ArchMapping

__all__ = [
    "IG_OVER",
    "METHODS",
    "ablation_attribute",
    "attribute",
    "edge_attribute",
    "edge_targets",
    "fisher_attribute",
    "greedy_opening",
    "head_activations",
]

METHODS = ("eap-ig", "fisher", "ablation")


def greedy_opening(
    model: PreTrainedModel, prompt_ids: Sequence[int], n_tokens: int, eos_ids: Sequence[int] = ()
) -> list[int]:
    """The model's greedy continuation of ``prompt_ids``: ``n_tokens`` tokens, or fewer when it
    emits an end-of-sequence id (which is not included)."""
    import torch

    ids = torch.tensor([list(prompt_ids)], device=model.device)
    with torch.no_grad():
        out = model.generate(  # type: ignore[operator]  # transformers types it loosely
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=n_tokens,
            do_sample=False,
            pad_token_id=_pad_id(model),
        )
    opening = out[0, ids.shape[1] :].tolist()
    for i, token in enumerate(opening):
        if token in eos_ids:
            return opening[:i]
    return opening


IG_OVER = ("activations", "inputs")


def attribute(
    model: PreTrainedModel,
    prompt_ids: Sequence[int],
    clean: Sequence[int],
    corrupt: Sequence[int] | None,
    ig_steps: int = 5,
    batch_size: int | None = None,
    *,
    ig_over: str = "activations",
    position_abs: bool = False,
) -> torch.Tensor:
    """EAP-IG head scores ``[n_layers, n_heads]`` (signed; callers take absolute values) for one
    problem. ``clean`` and ``corrupt`` are openings of equal length; ``corrupt=None`` uses zero
    activations as the baseline (zero ablation). IG steps run ``batch_size`` at a time (default:
    all in one batch), so memory is bounded by the batch, not by the number of steps.

    ``ig_over="activations"`` (the default) interpolates every head's activation between its
    corrupted and clean value; ``"inputs"`` interpolates the input embeddings instead and lets
    the model compute every activation from them (hannamw/EAP-IG's ``EAP-IG-inputs``; with
    ``corrupt=None`` the baseline is zero embeddings). ``position_abs`` takes each position's
    absolute value before summing over positions, so positions cannot cancel (the score is
    then non-negative)."""
    import torch

    if ig_over not in IG_OVER:
        raise ValueError(f"ig_over {ig_over!r}: choose one of {', '.join(IG_OVER)}")
    arch, shape, ids, start, clean_acts, clean_logits, corrupt_acts, after = setup(
        model, prompt_ids, clean, corrupt
    )
    if ig_over == "inputs":
        corrupt_ids = None if corrupt is None else [*prompt_ids, *corrupt]
        grads = _ig_input_grads(
            model, arch, ids, corrupt_ids, len(clean), clean_logits, ig_steps, batch_size
        )
    else:
        grads = _ig_mean_grads(
            model,
            arch,
            ids,
            len(clean),
            clean_logits,
            clean_acts,
            corrupt_acts,
            ig_steps,
            batch_size,
        )
    scores = torch.zeros(shape.n_layers, shape.n_heads)
    for layer, grad in enumerate(grads):
        diff = clean_acts[layer] - corrupt_acts[layer]  # [seq, H*d]
        prod = (diff * grad).reshape(len(ids), shape.n_heads, shape.head_dim).sum(dim=2)
        scores[layer] = (prod.abs() if position_abs else prod).sum(dim=0).float().cpu()
    return scores


def _ig_input_grads(
    model: PreTrainedModel,
    arch: ArchMapping,
    ids: list[int],
    corrupt_ids: list[int] | None,
    n_open: int,
    clean_logits: torch.Tensor,
    ig_steps: int,
    batch_size: int | None,
) -> list[torch.Tensor]:
    """The mean over IG steps of dKL/d(each layer's ``o_proj`` input), ``[seq, width]`` per
    layer, with the *input embeddings* interpolated, ``corrupt + alpha * (clean - corrupt)``
    (zeros for ``corrupt_ids=None``), at the midpoints ``alpha = (i + 0.5) / steps``; the model
    computes every head from them (EAP-IG-inputs). Steps run ``batch_size`` at a time."""
    import torch

    if ig_steps < 1:
        raise ValueError("attribution needs a non-empty opening and at least one IG step")
    embed = model.get_input_embeddings()
    with torch.no_grad():
        clean_emb = embed(torch.tensor([ids], device=model.device))[0]
        corrupt_emb = (
            torch.zeros_like(clean_emb)
            if corrupt_ids is None
            else embed(torch.tensor([corrupt_ids], device=model.device))[0]
        )
    clean_logp = torch.log_softmax(clean_logits.float(), dim=-1)
    alphas = (torch.arange(ig_steps, dtype=clean_emb.dtype, device=model.device) + 0.5) / ig_steps
    o_projs = [arch.o_proj_path(layer) for layer in range(arch.shape(model.config).n_layers)]
    sums: list[torch.Tensor] | None = None
    for chunk in alphas.split(batch_size or ig_steps):
        embeds = corrupt_emb[None] + chunk[:, None, None] * (clean_emb - corrupt_emb)[None]
        with capture_inputs(model, o_projs) as seen:
            logits = model(inputs_embeds=embeds, logits_to_keep=n_open + 1).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1)
            kl = (clean_logp.exp() * (clean_logp - logp)).sum(dim=(-1, -2))
            grads = torch.autograd.grad(kl.sum(), seen)
        chunk_sums = [grad.sum(dim=0) for grad in grads]
        sums = chunk_sums if sums is None else [a + b for a, b in zip(sums, chunk_sums)]
    return [total / ig_steps for total in sums or ()]


def edge_targets(n_layers: int) -> list[str]:
    """Names of the edge targets, in the last axis's order of :func:`edge_attribute`."""
    return (
        [f"attn L{layer}" for layer in range(n_layers)]
        + [f"mlp L{layer}" for layer in range(n_layers)]
        + ["logits"]
    )


def edge_attribute(
    model: PreTrainedModel,
    prompt_ids: Sequence[int],
    clean: Sequence[int],
    corrupt: Sequence[int] | None,
    ig_steps: int = 5,
    batch_size: int | None = None,
) -> torch.Tensor:
    """EAP-IG edge scores ``[n_layers, n_heads, 2 * n_layers + 1]`` (signed) for one problem.

    An edge goes from a head to a reader of the residual stream after it: a later layer's
    attention (``attn Lj``, j > layer), an MLP (``mlp Lj``, j >= layer) or the logits (targets
    named by :func:`edge_targets`; impossible edges score 0). Its score is what the head
    writes into the residual stream, ``W_O[:, head] (clean_h - corrupt_h)``, dotted with the
    IG-averaged gradient of the KL with respect to that reader's input alone (the same passes
    as :func:`attribute`). A head's edge scores sum to its node score."""
    import torch

    arch, shape, ids, start, clean_acts, clean_logits, corrupt_acts, after = setup(
        model, prompt_ids, clean, corrupt
    )
    readers = arch.reader_paths(shape.n_layers)
    grads = torch.stack(
        _ig_mean_grads(
            model,
            arch,
            ids,
            len(clean),
            clean_logits,
            clean_acts,
            corrupt_acts,
            ig_steps,
            batch_size,
            readers,
        )
    ).float()  # [targets, seq, hidden]
    n_targets = len(readers)
    edges = torch.zeros(shape.n_layers, shape.n_heads, n_targets)
    for layer in range(shape.n_layers):
        o_proj: torch.nn.Linear = model.get_submodule(arch.o_proj_path(layer))  # type: ignore[assignment]
        weight = o_proj.weight.detach().float()
        delta = (
            (clean_acts[layer] - corrupt_acts[layer])
            .float()
            .reshape(len(ids), shape.n_heads, shape.head_dim)
        )
        written = torch.einsum(
            "thd,ohd->hto", delta, weight.reshape(-1, shape.n_heads, shape.head_dim)
        )
        later = torch.zeros(n_targets, dtype=torch.bool, device=grads.device)
        later[layer + 1 : shape.n_layers] = True  # attention of later layers
        later[shape.n_layers + layer :] = True  # this layer's MLP and later ones, and the logits
        edges[layer] = (torch.einsum("hto,vto->hv", written, grads) * later).cpu()
    return edges


def _ig_mean_grads(
    model: PreTrainedModel,
    arch: ArchMapping,
    ids: list[int],
    n_open: int,
    clean_logits: torch.Tensor,
    clean_acts: list[torch.Tensor],
    corrupt_acts: list[torch.Tensor],
    ig_steps: int,
    batch_size: int | None,
    readers: Sequence[str] | None = None,
) -> list[torch.Tensor]:
    """The mean over IG steps of dKL/dx, ``[seq, width]`` per x: x = each layer's patched
    ``o_proj`` input, or, with ``readers`` (module paths), each of those modules' input.

    For each step alpha (midpoints ``(i + 0.5) / steps``) every head is set to
    ``corrupt + alpha * (clean - corrupt)``; the metric is KL(clean || patched) of the
    next-token distributions at the opening's positions, summed over them. Steps run
    ``batch_size`` at a time."""
    import torch

    if ig_steps < 1:
        raise ValueError("attribution needs a non-empty opening and at least one IG step")
    clean_logp = torch.log_softmax(clean_logits.float(), dim=-1)
    alphas = (
        torch.arange(ig_steps, dtype=clean_acts[0].dtype, device=model.device) + 0.5
    ) / ig_steps
    sums: list[torch.Tensor] | None = None
    for chunk in alphas.split(batch_size or ig_steps):
        batch = torch.tensor([ids] * len(chunk), device=model.device)
        patched: list[torch.Tensor] = []
        with (
            patch_all(model, arch, clean_acts, corrupt_acts, chunk, patched),
            capture_inputs(model, readers or ()) as captured,
        ):
            # logits only at the opening's positions (start .. len-2): the lm head is large
            logits = model(batch, logits_to_keep=n_open + 1).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1)
            kl = (clean_logp.exp() * (clean_logp - logp)).sum(dim=(-1, -2))  # per IG step
            grads = torch.autograd.grad(kl.sum(), captured if readers else patched)
        chunk_sums = [grad.sum(dim=0) for grad in grads]
        sums = chunk_sums if sums is None else [a + b for a, b in zip(sums, chunk_sums)]
    return [total / ig_steps for total in sums or ()]


def fisher_attribute(
    model: PreTrainedModel,
    prompt_ids: Sequence[int],
    clean: Sequence[int],
    corrupt: Sequence[int] | None,
    samples: int = 8,
    batch_size: int | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Second-order head scores ``[n_layers, n_heads]`` (non-negative): for each head alone, the
    estimated KL(clean || head patched to its corrupted value, or to zero for ``corrupt=None``),
    summed over the opening's positions.

    ``KL ~ 1/2 E_y[(sum_t grad log p_t(y_t) . delta_h)^2]`` with ``y_t`` drawn from the clean
    distribution at each position (the score has mean zero, so cross-position terms vanish in
    expectation): ``samples`` draws, seeded by ``seed``.

    The draws differ only in the gradient they send back, not in the forward pass: the clean
    run is made once, with gradients, and each draw's cotangent at the logits,
    ``onehot(y) - p`` (the gradient of ``log p(y)``), goes back through it as one row of a
    batched backward pass (``is_grads_batched``), ``batch_size`` draws at a time (default:
    all; under gradient checkpointing each further batch runs the clean model again). That
    run's captured ``o_proj`` inputs are the clean activations, so no other clean run is
    needed."""
    import torch

    if samples < 1:
        raise ValueError("attribution needs a non-empty opening and at least one sample")
    arch = get_arch(model.config)
    shape = arch.shape(model.config)
    # with a corrupted opening, the prompt's keys and values are shared with the corrupted run
    # and computed once, without gradients (not under gradient checkpointing, which drops a
    # cache: then the whole prompt runs again)
    checkpointing = is_checkpointing(model)
    first, corrupt_acts, after = corrupted_side(
        model, prompt_ids, clean, corrupt, share_prompt=not checkpointing
    )
    fed = torch.tensor([[*prompt_ids, *clean][first:]], device=model.device)
    o_projs = [arch.o_proj_path(layer) for layer in range(shape.n_layers)]
    squares = torch.zeros(shape.n_layers, shape.n_heads)

    def clean_run() -> torch.Tensor:  # the logits; ``seen`` gets the run's o_proj inputs
        return model(fed, logits_to_keep=len(clean) + 1, **repeat_prefix(after, 1)).logits[0, :-1]

    with capture_inputs(model, o_projs) as seen:
        logits = clean_run()
        probs = torch.softmax(logits.detach().float(), dim=-1)  # [T, vocab]
        generator = torch.Generator(device=probs.device).manual_seed(seed)
        drawn = torch.multinomial(probs, samples, replacement=True, generator=generator).T
        deltas = [
            acts.detach()[0] - (0 if corrupt_acts is None else corrupt_acts[layer].to(acts.dtype))
            for layer, acts in enumerate(seen)
        ]
        chunks = drawn.split(batch_size or samples)
        for index, chunk in enumerate(chunks):  # chunk: [rows, T], one draw per position
            # a checkpointed graph does not outlive its backward pass: each further chunk runs
            # the clean model again (the same run, the same logits; the draws came from the first)
            if index and checkpointing:
                logits = clean_run()
            cotangent = -probs.repeat(len(chunk), 1, 1)
            cotangent.scatter_add_(2, chunk[..., None], torch.ones_like(cotangent[..., :1]))
            grads = torch.autograd.grad(
                logits,
                seen,
                grad_outputs=cotangent.to(logits.dtype),
                is_grads_batched=True,
                retain_graph=not checkpointing and index < len(chunks) - 1,
            )
            squares += _summed_squares(grads, deltas, shape.n_heads)
    return 0.5 * squares / samples


def _summed_squares(
    grads: Sequence[torch.Tensor], deltas: Sequence[torch.Tensor], n_heads: int
) -> torch.Tensor:
    """``[n_layers, n_heads]``: for each head, ``(grad . delta_h)^2`` (summed over positions and
    the head's dimensions) summed over the draws; ``grads[layer]`` is ``[draws, 1, seq, width]``
    and ``deltas[layer]`` is ``[seq, width]``."""
    import torch

    rows = []
    for grad, delta in zip(grads, deltas):
        draws, _, seq, width = grad.shape
        dots = (grad[:, 0] * delta).reshape(draws, seq, n_heads, width // n_heads).sum(dim=(1, 3))
        rows.append(dots.float().pow(2).sum(dim=0).cpu())
    return torch.stack(rows)


def ablation_attribute(
    model: PreTrainedModel,
    prompt_ids: Sequence[int],
    clean: Sequence[int],
    corrupt: Sequence[int] | None,
    steps: int = 0,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Brute force, the ground truth the other methods approximate: head scores
    ``[n_layers, n_heads]`` (non-negative), for each head alone, the exact
    KL(clean || patched) summed over the opening's positions, with the head's ``o_proj`` input
    slice set to zero at every position (``corrupt=None``, zero ablation) or to its value in the
    corrupted run ``prompt + corrupt`` (activation patching; position i of one run to position
    i of the other: both runs share the prompt, so only the opening's positions change, and
    the prompt's keys and values are computed once and reused). One forward pass per head,
    ``batch_size`` heads per pass (default: one layer's heads). ``steps`` is unused (the
    signature of the other methods)."""
    import torch

    del steps
    arch, shape, ids, start, clean_acts, clean_logits, corrupt_acts, after = setup(
        model, prompt_ids, clean, corrupt
    )
    clean_logp = torch.log_softmax(clean_logits.float(), dim=-1)
    heads = [(layer, head) for layer in range(shape.n_layers) for head in range(shape.n_heads)]
    width = batch_size or shape.n_heads
    # with a corrupted opening, the prompt (all but its last token) is the same in both runs:
    # its keys and values are computed once (for a full batch) and copied for each pass
    first = start if after else 0
    with torch.no_grad():
        prefix = repeat_prefix(after, width)
        fed = torch.tensor([ids[first:]] * width, device=model.device)
        scores = torch.zeros(shape.n_layers, shape.n_heads)
        for at in range(0, len(heads), width):
            chunk = heads[at : at + width]
            with patch_heads(model, arch, shape.head_dim, corrupt_acts, chunk, first):
                out = model(fed, logits_to_keep=len(clean) + 1, **copy.deepcopy(prefix))
            logp = torch.log_softmax(out.logits[: len(chunk), :-1].float(), -1)
            kl = (clean_logp.exp() * (clean_logp - logp)).sum(dim=(-1, -2))
            for (layer, head), value in zip(chunk, kl.tolist()):
                scores[layer, head] = value
    return scores


def _pad_id(model: PreTrainedModel) -> int:
    config = model.generation_config
    pad = config.pad_token_id if config.pad_token_id is not None else config.eos_token_id
    if isinstance(pad, list):
        pad = pad[0]
    return int(pad) if pad is not None else 0
