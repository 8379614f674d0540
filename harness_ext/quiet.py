"""Three warnings that never concern a sparks user, dropped where their libraries log them.

lm-eval 0.4.13 warns on every run of a task with a ``custom_dataset`` (all sparks tasks) that
"Custom kwargs can be passed to --metadata ... max_seq_lengths", and on every ``--gen_kwargs``
to "Ensure 'do_sample=True' for non-greedy decoding!", also when only the length is set. The
``kernels`` package (transformers' Hub kernels) logs "Skipping publisher trust check for
'REPO' because Hugging Face Hub is in offline mode" each time it loads a cached kernel offline,
as sparks runs do: the kernel is already in the cache, so it was trusted when it was fetched.

All three come from their libraries' own loggers, so the one place to silence them without
patching a library or hiding stderr is a :class:`logging.Filter` on those loggers. It drops
exactly these records: the first only for tasks whose name holds "sparks", the second only
when the generation settings given name no sampling setting (``max_gen_toks``, ``until``), the
third only when it is about offline mode. Every other record, these loggers' real warnings
included, passes. (Transformers' ``USE_HUB_KERNELS=NO`` would also stop the third, but it
turns the kernels off, which changes what runs; sparks only drops the message.) Installed by
:mod:`harness_ext.lm_eval_bridge` when lm-eval is imported.
"""

from __future__ import annotations

import logging
import re

__all__ = ["LOGGERS", "install_log_filters"]

_CUSTOM_KWARGS = "Custom kwargs can be passed to `--metadata`"
_DO_SAMPLE = "Ensure 'do_sample=True' for non-greedy decoding"
_GEN_KWARGS = re.compile(r"generation_kwargs: (\{.*?\}) specified through cli")
_LENGTH_ONLY = {"max_gen_toks", "until"}
_TRUST_CHECK = re.compile(r"^Skipping publisher trust check for '[^']*' because .* offline mode")

# the loggers that the filter is added to (the kernels one exists before kernels is imported)
LOGGERS = ("lm_eval.api.task", "lm_eval.evaluator", "kernels._internals.hf_hub")


class _IrrelevantToSparks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is its library's to show
            return True
        if _CUSTOM_KWARGS in message:
            return "sparks" not in message.split(":", 1)[0]
        if _DO_SAMPLE in message:
            found = _GEN_KWARGS.search(message)
            keys = set(re.findall(r"'(\w+)':", found.group(1))) if found else {"?"}
            return not keys <= _LENGTH_ONLY
        if record.name == "kernels._internals.hf_hub":
            return _TRUST_CHECK.match(message) is None
        return True


_FILTER = _IrrelevantToSparks()


def install_log_filters() -> None:
    """Add the filter to lm-eval's task and evaluator loggers and to kernels' Hub logger
    (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
