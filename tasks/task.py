"""The task class of every sparks task: lm-eval's ConfigurableTask, plus ``repeats`` from
``--metadata``.

lm-eval 0.4.13 has no command-line flag for a task's ``repeats``; our tasks read it from the
metadata that ``--metadata '{"repeats": 16}'`` passes to every task, so users choose n for
pass@1 without editing YAML.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.task import ConfigurableTask

from harness_ext.errors import SparksError


class SparksTask(ConfigurableTask):
    """ConfigurableTask whose ``repeats`` (n samples per problem) can come from metadata.

    Only sampled tasks take it: n greedy responses would all be the same.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = dict(config or {})
        config.pop("class", None)
        metadata = config.get("metadata") or {}
        sampled = (config.get("generation_kwargs") or {}).get("do_sample", False)
        if "repeats" in metadata and sampled:  # greedy tasks keep one response per problem
            config["repeats"] = _positive_int(metadata["repeats"])
        super().__init__(config=config)


def _positive_int(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(value).strip() != str(number):
        raise SparksError(f"--metadata repeats={value!r} must be a positive integer, "
                          f"e.g. --metadata '{{\"repeats\": 8}}'.")
    return number
