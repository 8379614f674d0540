"""Number formatting shared by the terminal, Markdown and HTML renderers."""

from __future__ import annotations

__all__ = ["ci", "pct", "pp", "p_value"]


def pct(value: float) -> str:
    """0.4567 -> ``45.7%``."""
    return f"{100 * value:.1f}%"


def pp(value: float) -> str:
    """A difference of proportions in percentage points: ``+5.0 pp``."""
    return f"{100 * value:+.1f} pp"


def ci(low: float, high: float) -> str:
    """A 95% interval of a difference: ``[-3.1, +8.0]`` (percentage points)."""
    return f"[{100 * low:+.1f}, {100 * high:+.1f}]"


def p_value(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"
