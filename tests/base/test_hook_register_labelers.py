"""register_labelers: a plugin adds a failure labeler by name."""

from __future__ import annotations

import pytest

from harness_ext import hookimpl
from harness_ext.plugins import PluginError, describe_plugins, get_labelers
from harness_ext.testing import throwaway_plugin


def looping(sample):
    """Label answers that repeat one line three times or more."""
    lines = str(sample["resps"][0][0]).splitlines()
    return "logical-loop" if any(lines.count(line) >= 3 for line in set(lines) if line) else None


class LoopPlugin:
    @staticmethod
    @hookimpl
    def register_labelers(register):
        register("looping", looping)


def test_hook_register_labelers() -> None:
    with throwaway_plugin("loops", LoopPlugin()):
        labelers = get_labelers()
        assert labelers["looping"]({"resps": [["a\nb\na\na"]]}) == "logical-loop"
        assert labelers["looping"]({"resps": [["a\nb"]]}) is None
        info = next(info for info in describe_plugins() if info.name == "loops")
        assert info.labelers[0].doc.startswith("Label answers that repeat")
        with (
            throwaway_plugin("loops-again", LoopPlugin()),
            pytest.raises(PluginError, match="twice"),
        ):
            get_labelers()
    assert "looping" not in get_labelers()
