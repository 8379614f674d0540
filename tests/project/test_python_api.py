"""docs/python.md runs as written: its code blocks, in order, in one Python session started in
an empty folder (the embedded model, offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "python.md"


def test_the_page_covers_the_public_api() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for name in (
        "simple_evaluate",
        "SparksLM",
        "is_correct",
        "label",
        "discover_heads",
        "make_report",
    ):
        assert re.search(rf"`[\w.]*{name}", text), name


@pytest.mark.integration
def test_every_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 6
    script = tmp_path / "page.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "SPARKS_LOAD_PLUGINS": "",
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "correct=True, reason='symbolic'" in out
    assert "calculation_error | 12 \\times 13 = 198" in out
    assert "'exact_match,extracted'" in out and "zero:L1H3+L1H4+L1H5" in out
    assert "['report.md', 'report.html', 'report.json']" in out
    assert (tmp_path / "out" / "report" / "report.md").is_file()
