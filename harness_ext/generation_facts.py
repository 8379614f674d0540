"""What generation did, recorded when it happens: tokens generated and why each response stopped.

The ``sparks`` model logs, for every response, in the order of ``resps``::

    {"generated_tokens": N, "stop_reason": "eos" | "stop_sequence" | "length", "max_gen_toks": B}

under ``sparks_generation`` in the request's logged generation arguments. ``B`` is the budget
actually used (after fitting to the context), ``N`` counts the tokens the model produced for
that response (an end token included; padding after it, and tokens after a stop sequence was
complete, excluded). Re-tokenizing the logged text cannot tell this: garbled text re-tokenizes
shorter, and the end token and stop sequence are cut from it.

How facts find their response: lm-eval's ``HFLM.generate_until`` sorts requests into batches
and reports each decoded response, in processing order, through ``cache_hook.add_partial``.
:class:`FactsRecorder` takes each batch's facts from ``_model_generate`` (same order) and pairs
them with those callbacks; identical requests (the n repeats of a problem share one arguments
dict) keep their relative order in lm-eval's stable sort, so the k-th response of a request
gets the k-th fact recorded for it, and the decoded text is checked to match. Requests are
matched by context and by the *value* of their generation arguments: lm-eval passes one
batch member's dict for the whole batch, and batches hold only equal arguments.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

if TYPE_CHECKING:
    from lm_eval.api.instance import Instance
    from lm_eval.api.model import LM

__all__ = [
    "FACTS_KEY",
    "INTERVENTIONS_KEY",
    "FactsRecorder",
    "generate_recording_facts",
    "generation_facts",
    "vllm_facts",
]

FACTS_KEY = "sparks_generation"
INTERVENTIONS_KEY = "sparks_interventions"
Fact = dict[str, Any]


def generation_facts(
    rows: Sequence[Sequence[int]],
    context_length: int,
    budget: int,
    eos_ids: Iterable[int],
    stop: Sequence[str],
    decode: Callable[[Sequence[int]], str],
) -> list[Fact]:
    """The facts of each generated row (``context + continuation`` token ids) of one batch."""
    eos = set(eos_ids)
    return [_fact(list(row[context_length:]), budget, eos, stop, decode) for row in rows]


def _fact(
    tokens: list[int],
    budget: int,
    eos: set[int],
    stop: Sequence[str],
    decode: Callable[[Sequence[int]], str],
) -> Fact:
    end = next((i for i, token in enumerate(tokens) if token in eos), None)
    body = tokens if end is None else tokens[:end]
    stopped = _stop_length(body, stop, decode)
    if stopped is not None:
        n, reason = stopped, "stop_sequence"
    elif end is not None:
        n, reason = end + 1, "eos"
    else:
        n, reason = len(tokens), "length"
    return {"generated_tokens": n, "stop_reason": reason, "max_gen_toks": budget}


def _stop_length(
    tokens: list[int], stop: Sequence[str], decode: Callable[[Sequence[int]], str]
) -> Optional[int]:
    """The fewest leading tokens whose text contains a stop sequence (None: no stop sequence).

    Generation stops a sequence once a stop string is complete; what follows is padding or
    other batch members' steps. Binary search: O(log n) decodes, not one per token.
    """
    wanted = [s for s in stop if s]
    if not wanted or not any(s in decode(tokens) for s in wanted):
        return None
    low, high = 1, len(tokens)
    while low < high:
        middle = (low + high) // 2
        if any(s in decode(tokens[:middle]) for s in wanted):
            high = middle
        else:
            low = middle + 1
    return low


def vllm_facts(output: Any, budget: int | None) -> dict[str, Any]:
    """The facts of one vLLM ``RequestOutput`` (``sparks-vllm``), from vLLM's own record.

    ``token_ids`` holds what the model produced: the end token included, nothing after a stop
    string was complete (as :func:`generation_facts` counts). ``finish_reason`` is ``length``
    or ``stop``; ``stop_reason`` is None (the end token), a stop token id, or the stop string.
    ``budget``: the request's ``max_tokens``."""
    completion = output.outputs[0]
    if completion.finish_reason == "length":
        reason = "length"
    elif isinstance(completion.stop_reason, str):
        reason = "stop_sequence"
    else:  # None: the model's end token; an int: a stop token id
        reason = "eos"
    return {
        "generated_tokens": len(completion.token_ids),
        "stop_reason": reason,
        "max_gen_toks": budget,
    }


class FactsRecorder:
    """Pairs the facts of each generated row with the response lm-eval reports for it.

    Use: ``add_batch`` from ``_model_generate``; install :meth:`hook` as the LM's cache hook
    during ``generate_until`` (it forwards every call to the real hook); then ``attach``.
    """

    def __init__(self, real_hook: Any, *, match_settings: bool = True) -> None:
        self._real = real_hook
        # lm-eval's VLLM reports rewritten generation arguments (``until``, budget) to the
        # hook, not the request's own: there, requests are matched by context (and text) only
        self._match_settings = match_settings
        self._pending: deque[Fact] = deque()
        self._by_request: dict[tuple[str, str], deque[tuple[str, Optional[Fact]]]] = defaultdict(
            deque
        )

    def add_batch(self, facts: Sequence[Fact]) -> None:
        """The facts of one generated batch, in the order lm-eval will report its responses."""
        self._pending.extend(facts)

    def add_partial(self, attr: str, request: Any, result: Any) -> None:
        """lm-eval's cache-hook call, once per response in processing order."""
        if attr == "generate_until":
            context, gen_kwargs = request
            fact = self._pending.popleft() if self._pending else None
            self._by_request[(context, self._key(gen_kwargs))].append((result, fact))
        self._real.add_partial(attr, request, result)

    def attach(self, requests: Sequence[Any], outputs: Sequence[str]) -> None:
        """Append each response's fact to its request's logged ``sparks_generation`` list."""
        for request, output in zip(requests, outputs):
            context, gen_kwargs = request.args
            if not isinstance(gen_kwargs, dict):
                continue
            queue = self._by_request.get((context, self._key(gen_kwargs)))
            if not queue:
                continue  # served from lm-eval's cache: no facts, reports estimate
            fact = _take(queue, output)
            if fact is not None:
                gen_kwargs.setdefault(FACTS_KEY, []).append(fact)

    def _key(self, gen_kwargs: Any) -> str:
        return _settings(gen_kwargs) if self._match_settings else ""


def _settings(gen_kwargs: Any) -> str:
    """The generation arguments as a key, without what sparks writes into them for the log."""
    if not isinstance(gen_kwargs, dict):
        return repr(gen_kwargs)
    kept = {k: v for k, v in gen_kwargs.items() if not str(k).startswith("sparks_")}
    return json.dumps(kept, sort_keys=True, default=repr)


def _take(queue: deque[tuple[str, Optional[Fact]]], output: str) -> Optional[Fact]:
    """The next recorded fact whose response text is ``output`` (normally the first one)."""
    for index, (text, fact) in enumerate(queue):
        if text == output:
            del queue[index]
            return fact
    return None


def generate_recording_facts(
    lm: LM,
    requests: Sequence[Instance],
    generate: Callable[[], list[str]],
    *,
    interventions: str | None,
    match_settings: bool = True,
) -> list[str]:
    """Run ``generate()`` (the LM's ``generate_until`` on ``requests``) with the facts recorded,
    the one way ``sparks`` and ``sparks-vllm`` write their per-sample records.

    What sparks wrote into the requests' generation arguments before (a request object logged
    twice) is dropped first, so that it is never passed to the model. During ``generate()`` a
    :class:`FactsRecorder` is the LM's cache hook (installed through lm-eval's
    ``LM.set_cache_hook``, the real hook restored after); the LM's ``_model_generate`` finds it
    as ``lm.cache_hook`` and adds each batch's facts. Then each request's logged arguments get
    ``sparks_generation`` and, with ``interventions``, ``sparks_interventions``: the arguments
    are what lm-eval's ``--log_samples`` writes for a request, and 0.4.13 has no other per-sample
    field a model can fill.
    """
    for request in requests:
        settings = request.args[1] if len(request.args) > 1 else None
        if isinstance(settings, dict):
            settings.pop(INTERVENTIONS_KEY, None)
            settings.pop(FACTS_KEY, None)
    real = lm.cache_hook
    recorder = FactsRecorder(real, match_settings=match_settings)
    lm.set_cache_hook(recorder)  # type: ignore[arg-type]  # it forwards every call to `real`
    try:
        outputs = generate()
        recorder.attach(requests, outputs)
    finally:
        lm.set_cache_hook(real)
    if interventions is not None:
        for request in requests:
            if isinstance(request.args[1], dict):
                request.args[1][INTERVENTIONS_KEY] = interventions
    return outputs
