"""The ``--metadata`` keys the sparks tasks read (``repeats``, ``data_dir``); every other key is
lm-eval's or the model's. Data shared by the tasks (which read them) and regress specs (which
check them before any run), so it lives here, free of lm-eval imports; ``harness_ext.tasks``
re-exports it."""

from __future__ import annotations

__all__ = ["METADATA_KEYS"]

METADATA_KEYS: tuple[str, ...] = ("repeats", "data_dir")
