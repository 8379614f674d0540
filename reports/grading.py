"""Each task's grading rules, as the run recorded them: the report grades with the task's own
grader, never with one guessed from the task's name.

A sparks task records its rules in its metadata (``grading``, see
:mod:`harness_ext.answers.graders`), which lm-eval writes into the results file under
``configs.<task>.metadata``. A run made before sparks recorded them falls back, in order, to:

1. the rules its task file declares now: the YAML that lm-eval recorded as the task's
   ``metadata.config_source``, if that file is still there (a warning says so);
2. the math grader, with the task's problem text kept out of report.md (it may not be
   publishable), and a warning that says so and how to get the real rules (rerun the task).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from harness_ext.answers.graders import GradingRules, rules_from_metadata
from harness_ext.errors import SparksError

__all__ = ["UNKNOWN_RULES", "declared_rules", "task_rules"]

UNKNOWN_RULES = GradingRules(publish_text=False)  # a legacy run whose task file is gone


def task_rules(
    config: Mapping[str, Any], task: str, results_file: Path, warn: Callable[[str], None]
) -> GradingRules:
    """The grading rules of ``task`` in the run of ``results_file`` (``config``: the task's
    entry in the results file's ``configs``); see the module docstring for older runs."""
    metadata = config.get("metadata")
    recorded = rules_from_metadata(metadata, where=f"{results_file}: task {task}")
    if recorded is not None:
        return recorded
    source = metadata.get("config_source") if isinstance(metadata, Mapping) else None
    declared = declared_rules(source)
    if declared is not None:
        warn(
            f"{task}: the run did not record its grading rules (it was made with an older "
            f"sparks); grading it as its task file {source} declares now"
        )
        return declared
    warn(
        f"{task}: the run did not record its grading rules (an older sparks) and its task "
        f"file ({source or 'not recorded'}) is not there; grading it with the math grader, "
        f"and report.md leaves out its problem text. Rerun the task to record its rules"
    )
    return UNKNOWN_RULES


def declared_rules(source: Any) -> Optional[GradingRules]:
    """The rules the task YAML at ``source`` declares (its includes merged, as lm-eval reads
    it), or None when the file is gone, unreadable or no task file. A file that declares no
    rules gets the default (math), as SparksTask does."""
    if not isinstance(source, str) or not source.endswith((".yaml", ".yml")):
        return None
    path = Path(source)
    if not path.is_file():
        return None
    # lm-eval's own loader (includes merged key by key, !function tags left as text); imported
    # here only, for runs that lack recorded rules (importing lm_eval.tasks takes a second)
    from lm_eval.tasks._yaml_loader import load_yaml

    try:
        config = load_yaml(path, resolve_func=False)
    except Exception:  # a file that changed into something else: no rules from it
        return None
    try:
        return rules_from_metadata(config.get("metadata"), where=str(path)) or GradingRules()
    except SparksError:
        return None
