"""Compatibility name: the time budget of answer checks moved to :mod:`harness_ext.answers`
(``harness_ext.answers.time_budget``); this module re-exports it for older callers."""

from harness_ext.answers.grade import BUDGET_S, time_budget

__all__ = ["BUDGET_S", "time_budget"]
