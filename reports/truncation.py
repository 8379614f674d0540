"""Decide whether a response was cut off by its token budget (``max_gen_toks``).

lm-eval does not log why generation stopped, so it is reconstructed from the text:

* ``tokenizer`` (the default when the run's tokenizer loads from local files): the response is
  re-tokenized with the run's tokenizer (``tokenizer=`` or ``pretrained=`` of its model_args;
  the embedded model when ``--model sparks`` had no ``pretrained``). It is truncated when its
  token count reaches ``max_gen_toks``: a response that stopped on its own ends with an
  end-of-text or stop sequence, which lm-eval strips, almost always before the budget.
  Re-tokenizing decoded text can give a few tokens fewer than the model generated (it may
  have spelled a word in pieces), so a count within :func:`slack` of the budget (1%, at least
  2 tokens) also counts as truncated when the response has no final answer.
* ``estimate`` (no tokenizer available, or ``--truncation estimate``): a response is truncated
  when it has no final answer and at least :data:`ESTIMATE_BYTES_PER_TOKEN` bytes per budget
  token (math text averages 3-4 bytes per token, so this only flags responses that filled
  most of the budget). Cheaper and cruder; the report header says which method ran.

A byte count below the budget rules truncation out before any tokenizing: every generated
token decodes to at least one byte. Bytes are counted as UTF-8, a lone surrogate (which no
tokenizer produced) as the 3 bytes it would take; the tokenizer sees it as U+FFFD.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

__all__ = [
    "ESTIMATE_BYTES_PER_TOKEN",
    "TokenCounter",
    "is_truncated",
    "load_token_counter",
    "model_args_dict",
    "slack",
]

ESTIMATE_BYTES_PER_TOKEN = 2.5
MODES = ("auto", "tokenizer", "estimate")

TokenCounter = Callable[[str], int]
_SURROGATE = re.compile("[\ud800-\udfff]")


def slack(max_gen_toks: int) -> int:
    """How many tokens short of the budget still counts as "used the whole budget"."""
    return max(2, math.ceil(0.01 * max_gen_toks))


def is_truncated(
    response: str,
    max_gen_toks: Optional[int],
    *,
    has_answer: bool,
    count_tokens: Optional[TokenCounter] = None,
    n_tokens: Optional[int] = None,
) -> bool:
    """Whether ``response`` used its whole token budget (see the module docstring)."""
    if not max_gen_toks:
        return False
    size = len(response.encode("utf-8", "surrogatepass"))
    if size < max_gen_toks - slack(max_gen_toks):
        return False
    if n_tokens is None and count_tokens is not None:
        n_tokens = count_tokens(response)
    if n_tokens is not None:
        if n_tokens >= max_gen_toks:
            return True
        return n_tokens >= max_gen_toks - slack(max_gen_toks) and not has_answer
    return not has_answer and size >= ESTIMATE_BYTES_PER_TOKEN * max_gen_toks


def model_args_dict(model_args: Any) -> dict[str, str]:
    """lm-eval's ``model_args`` (``"a=1,b=2"`` or a mapping) as a dict of strings."""
    if isinstance(model_args, Mapping):
        return {str(k): str(v) for k, v in model_args.items()}
    result: dict[str, str] = {}
    for part in str(model_args or "").split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            result[key.strip()] = value.strip()
    return result


def tokenizer_source(model: str, model_args: Any) -> Optional[str]:
    """The tokenizer a run used: ``tokenizer=``, else ``pretrained=``, else the embedded model."""
    args = model_args_dict(model_args)
    source = args.get("tokenizer") or args.get("pretrained")
    if source:
        return source
    if model == "sparks":
        from harness_ext.embedded import embedded_model_dir, is_converted

        folder = embedded_model_dir()
        return str(folder) if is_converted(folder) else None
    return None


def load_token_counter(
    model: str, model_args: Any, mode: str = "auto"
) -> tuple[Optional[TokenCounter], str]:
    """A token counter for a run's responses and a note on how truncation is decided.

    ``mode``: ``auto`` (tokenizer if it loads from local files, else estimate), ``tokenizer``
    (fail if it does not load) or ``estimate``.
    """
    from harness_ext.errors import SparksError

    if mode not in MODES:
        raise SparksError(f"--truncation {mode!r} is not one of {', '.join(MODES)}")
    if mode == "estimate":
        return None, "estimated (no final answer and a response that fills the budget)"
    source = tokenizer_source(model, model_args)
    error = "no tokenizer named in model_args"
    if source:
        try:
            counter = _load(source, model_args_dict(model_args))
            return counter, f"tokenizer {Path(source).name if Path(source).exists() else source}"
        except Exception as exc:  # offline, gated, not cached: fall back or fail clearly
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if mode == "tokenizer":
        raise SparksError(
            f"cannot load the tokenizer {source!r} to count tokens ({error}); "
            f"make it available locally or use --truncation estimate"
        )
    return None, f"estimated (the tokenizer did not load: {error})"


def _load(source: str, args: Mapping[str, str]) -> TokenCounter:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        source,
        local_files_only=True,
        revision=args.get("revision") or None,
        trust_remote_code=args.get("trust_remote_code", "").lower() == "true",
    )

    def count(text: str) -> int:
        text = _SURROGATE.sub("\ufffd", text)  # a lone surrogate is not text a tokenizer takes
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count
