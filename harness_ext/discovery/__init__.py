"""``sparks discover``: find the heads that post-training made emerge (the paper's method).

Layout: ``command`` (the CLI command), ``engine`` (``discover_heads``: the discovery loop and
its typed result), ``flags`` (the command's flags), ``loading`` (tasks, models, device),
``summary`` (what the command prints), ``attribution`` (Fisher, EAP-IG, edges,
the brute force), ``stability`` (``--bootstrap``: resampled problems), ``circuits`` (circuit definitions: top share, importance mass, kept edges), ``heads_file``
(heads.json and its heat map), ``series`` (checkpoint series), ``rewards`` (checkpoint rewards
and steps), ``thinking`` (think on/off), ``samples`` (openings read from lm-eval samples),
``checks`` (argument checks before any model work), ``stats`` (Spearman without scipy).
"""

from __future__ import annotations

from harness_ext.discovery.command import (
    Attribution,
    Discovery,
    Problem,
    check_device,
    configure_discover,
    discover_heads,
    load_model,
    load_task_rows,
    prompt_ids,
    run_discover,
)

__all__ = [
    "Attribution",
    "Discovery",
    "Problem",
    "check_device",
    "configure_discover",
    "discover_heads",
    "load_model",
    "load_task_rows",
    "prompt_ids",
    "run_discover",
]
