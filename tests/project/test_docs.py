"""docs/plugins.md cannot fall behind the code: every hook is documented with its exact signature,
and the example files it quotes are quoted verbatim."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from harness_ext.plugins import pm

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins.md"
INCLUDE = re.compile(r"<!-- include: (?P<path>\S+) -->\n```[a-z]*\n(?P<body>.*?)```\n", re.S)


def hook_specs() -> dict[str, object]:
    return {
        name: caller.spec.function
        for name, caller in vars(pm.hook).items()
        if getattr(caller, "spec", None) is not None
    }


def test_there_are_hooks() -> None:
    assert {"register_interventions", "register_labelers"} <= set(hook_specs())


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_hook_has_docstring(name: str) -> None:
    assert inspect.getdoc(hook_specs()[name]), f"hookspec {name} has no docstring"


@pytest.mark.parametrize("name", sorted(hook_specs()))
def test_hook_heading_with_exact_signature(name: str) -> None:
    parameters = inspect.signature(hook_specs()[name]).parameters
    heading = f"## {name}({', '.join(parameters)})"
    assert heading in DOCS.read_text().splitlines(), (
        f"docs/plugins.md lacks the heading {heading!r}"
    )


def test_quoted_files_are_verbatim() -> None:
    quoted = list(INCLUDE.finditer(DOCS.read_text()))
    assert len(quoted) >= 4
    for match in quoted:
        assert match["body"] == (ROOT / match["path"]).read_text(), (
            f"{match['path']} differs from its quote"
        )
