"""The logged sample: one line of lm-eval's ``samples_<task>_<date>.jsonl`` as sparks reads it.

lm-eval 0.4.13 writes, per problem, ``doc_id``, ``doc``, ``target``, ``arguments`` (the prompt
and the generation settings of each request), ``resps`` (the raw responses, n of them with
``repeats``), ``filtered_resps`` (after the task's filter: the extracted answers), and one key
per metric (``pass@1``, ``exact_match``, ``ungraded``; ``bypass`` under ``--predict_only``). The
``sparks`` model adds ``sparks_generation`` (what generation did, per response) to the logged
generation settings. :class:`LoggedSample` gives those fields typed; :func:`read_samples` reads
a file of them with a clear error for a cut or foreign file. The reports and ``sparks discover
--samples`` read samples only through here.

Samples files of long reasoning traces run to hundreds of MB, so :func:`read_samples` streams:
it reads one line at a time and keeps nothing once a sample is handed on; each sample knows
its byte ``offset``, and :func:`read_sample_at` reads that one sample again (what the report
does for the few responses it shows in full).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping, Optional

from harness_ext.errors import SparksError

__all__ = ["STOP_REASONS", "GenerationFact", "LoggedSample", "read_sample_at", "read_samples"]

STOP_REASONS = ("eos", "stop_sequence", "length")


@dataclass(frozen=True)
class GenerationFact:
    """What generating one response did, as the ``sparks`` model logged it."""

    generated_tokens: int
    stop_reason: str  # one of STOP_REASONS; "length" means the budget cut the response
    max_gen_toks: Optional[int]  # the budget actually used (after fitting to the context)


@dataclass(frozen=True)
class LoggedSample:
    """One problem of a samples file, typed; ``raw`` is the line as lm-eval wrote it."""

    path: Path
    line: int
    doc_id: Optional[int]
    doc: Mapping[str, Any]
    target: str
    responses: tuple[str, ...]  # the first request's responses (n of them with repeats)
    filtered: tuple[Optional[str], ...]  # the filter's output per response (extracted answers)
    generation_kwargs: Optional[Mapping[str, Any]]  # as logged with the first request
    raw: Mapping[str, Any]
    offset: int = 0  # where the line starts in the file (bytes): read_sample_at(path, offset)

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], path: Path, line: int = 0, offset: int = 0
    ) -> "LoggedSample":
        """Type one parsed line; a clear error when it has no responses."""
        doc_id = data.get("doc_id")
        doc = data.get("doc")
        return cls(
            path=path,
            line=line,
            doc_id=doc_id if isinstance(doc_id, int) and not isinstance(doc_id, bool) else None,
            doc=doc if isinstance(doc, dict) else {},
            target=str(data.get("target", "")),
            responses=_responses(data, path),
            filtered=_filtered(data),
            generation_kwargs=_logged_gen_kwargs(data),
            raw=data,
            offset=offset,
        )

    @property
    def has_doc(self) -> bool:
        return isinstance(self.raw.get("doc"), dict)

    def score(self, metric: str) -> Optional[float]:
        """The value lm-eval logged for ``metric`` (None when it logged none)."""
        value = self.raw.get(metric)
        return (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None
        )

    @property
    def ungraded(self) -> Optional[int]:
        """How many responses the task could not grade in time (None: the run did not log it)."""
        value = self.score("ungraded")
        return None if value is None else int(value)

    @property
    def max_gen_toks(self) -> Optional[int]:
        """The token budget logged with the request, or None."""
        value = (self.generation_kwargs or {}).get("max_gen_toks")
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    @property
    def generation(self) -> Optional[tuple[GenerationFact, ...]]:
        """The ``sparks_generation`` facts, one per response, or None (lm-eval's ``hf`` model,
        older runs, responses served from ``--use_cache``, or a list that does not fit)."""
        facts = (self.generation_kwargs or {}).get("sparks_generation")
        if not isinstance(facts, list) or len(facts) != len(self.responses):
            return None
        typed = []
        for fact in facts:
            tokens = fact.get("generated_tokens") if isinstance(fact, dict) else None
            if not isinstance(tokens, int) or fact.get("stop_reason") not in STOP_REASONS:
                return None
            budget = fact.get("max_gen_toks")
            typed.append(
                GenerationFact(
                    tokens, fact["stop_reason"], budget if isinstance(budget, int) else None
                )
            )
        return tuple(typed)


def read_samples(path: Path) -> Iterator[LoggedSample]:
    """The samples of an lm-eval ``samples_*.jsonl``, one line at a time (the file is never
    held whole); a clear error for a cut or foreign file."""
    with open(path, "rb") as stream:
        offset = 0
        for number, raw in enumerate(stream, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            data = _parse(raw, path, number, stream)
            yield LoggedSample.from_json(data, path, number, start)


def read_sample_at(path: Path, offset: int, line: int = 0) -> LoggedSample:
    """The one sample whose line starts at byte ``offset`` of ``path`` (a
    :attr:`LoggedSample.offset` that :func:`read_samples` gave)."""
    with open(path, "rb") as stream:
        stream.seek(offset)
        raw = stream.readline()
        return LoggedSample.from_json(_parse(raw, path, line, stream), path, line, offset)


def _parse(raw: bytes, path: Path, number: int, stream: BinaryIO) -> dict[str, Any]:
    """One line as a JSON object; ``stream`` (just after the line) tells a cut last line."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        last = not raw.endswith(b"\n") or all(not rest.strip() for rest in stream)
        what = (
            "its last line is cut off: the file is truncated (was the run interrupted?)"
            if last
            else f"line {number} is not JSON"
        )
        raise SparksError(f"samples file {path}: {what}; rerun the evaluation") from None
    if not isinstance(data, dict):
        raise SparksError(
            f"samples file {path}, line {number}: not a JSON object; is it an lm-eval samples file?"
        )
    return data


def _responses(data: Mapping[str, Any], path: Path) -> tuple[str, ...]:
    resps = data.get("resps")
    if not isinstance(resps, list) or not resps:
        raise SparksError(
            f"samples file {path}: doc_id {data.get('doc_id')} has no 'resps'; "
            f"is it an lm-eval samples file?"
        )
    first = resps[0]
    texts = first if isinstance(first, list) else resps
    return tuple(text if isinstance(text, str) else str(text) for text in texts)


def _filtered(data: Mapping[str, Any]) -> tuple[Optional[str], ...]:
    filtered = data.get("filtered_resps") or []
    if filtered and isinstance(filtered[0], list):
        filtered = filtered[0]
    return tuple(item if isinstance(item, str) else None for item in filtered)


def _logged_gen_kwargs(data: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    arguments = data.get("arguments")
    # lm-eval 0.4.13 logs {"gen_args_0": {"arg_0": prompt, "arg_1": gen_kwargs}}; older ones
    # [[prompt, gen_kwargs]]
    first = (
        next(iter(arguments.values()), None)
        if isinstance(arguments, dict)
        else arguments[0]
        if isinstance(arguments, list) and arguments
        else None
    )
    kwargs = (
        first.get("arg_1")
        if isinstance(first, dict)
        else first[1]
        if isinstance(first, list) and len(first) > 1
        else None
    )
    return kwargs if isinstance(kwargs, dict) else None
