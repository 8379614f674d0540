"""The sparks tasks for lm-eval: task YAMLs, their data (``data``), task class (``task``) and
scoring (``scoring``)."""

from harness_ext.formats.task_metadata import METADATA_KEYS  # shared with regress specs

__all__ = ["METADATA_KEYS"]
