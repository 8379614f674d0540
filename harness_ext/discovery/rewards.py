"""The training step and reward of each checkpoint of ``sparks discover --checkpoints``.

The step of a checkpoint is its ``trainer_state.json``'s ``global_step``, else the ``N`` of a
``checkpoint-N`` folder. Its reward comes from the ``log_history`` of that
``trainer_state.json`` (written by the Hugging Face Trainer and by TRL: ``reward``,
``rewards/<name>/mean``, ``rewards/accuracy_reward``, ...; ``--reward-key`` picks one), or from
``--rewards FILE``, a log of steps and rewards (CSV with ``step`` and ``reward`` columns, or
JSON: a list of ``{"step": N, "reward": R}`` objects, or an object with such a
``log_history``). Windows (``--reward-window``):

* ``since-previous`` (default): the mean of the values logged after the previous
  checkpoint's step and up to this checkpoint's step (for the first checkpoint: every value up
  to its step), so each checkpoint's reward summarises the training that produced it;
* ``last``: the last value logged at or before the checkpoint's step.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from harness_ext.errors import SparksError

__all__ = [
    "REWARD_WINDOWS",
    "CheckpointRewards",
    "checkpoint_step",
    "pick_reward_key",
    "read_checkpoint_rewards",
    "read_rewards_file",
    "window_reward",
]

REWARD_WINDOWS = ("since-previous", "last")
Point = tuple[int, float]  # (step, logged value)


@dataclass(frozen=True)
class CheckpointRewards:
    """Each checkpoint's ``steps`` and ``rewards`` (None where unknown), the ``key`` and
    ``source`` they were read from (None: no rewards), and the ``window`` rule."""

    steps: tuple[int | None, ...]
    rewards: tuple[float | None, ...]
    key: str | None = None
    source: str | None = None
    window: str = "since-previous"

    def describe(self) -> dict[str, Any]:
        """How the rewards were read, for heads.json's ``dynamics``."""
        return {"reward_key": self.key, "reward_source": self.source, "reward_window": self.window}


def read_checkpoint_rewards(
    checkpoints: Sequence[str],
    rewards_file: Path | None = None,
    key: str | None = None,
    window: str = "since-previous",
) -> CheckpointRewards:
    """Steps and rewards of ``checkpoints`` (in training order). Rewards are read when
    ``rewards_file`` or ``key`` is given or a checkpoint has a ``trainer_state.json`` logging a
    reward; then every checkpoint needs a step and a reward, else :class:`SparksError`. With no
    reward anywhere, the rewards are None (the steps are still read where known)."""
    if window not in REWARD_WINDOWS:
        raise SparksError(f"--reward-window {window!r}: choose one of {', '.join(REWARD_WINDOWS)}")
    states = [_trainer_state(name) for name in checkpoints]
    steps = [_state_step(state, name) for state, name in zip(states, checkpoints)]
    if rewards_file is not None:
        return _from_file(checkpoints, steps, rewards_file, key or "reward", window)
    logged = [state for state in states if state is not None and _candidates(_history(state))]
    if key is None and not logged:
        return CheckpointRewards(tuple(steps), (None,) * len(checkpoints), window=window)
    missing = [name for name, state in zip(checkpoints, states) if state is None]
    if missing:
        raise SparksError(
            f"no trainer_state.json in {', '.join(missing)}: cannot read their "
            "rewards; pass --rewards FILE (step and reward, CSV or JSON)"
        )
    chosen = key or pick_reward_key([e for state in states for e in _history(state)])
    histories = [_points(_history(state), chosen, name) for state, name in zip(states, checkpoints)]
    _check_steps(checkpoints, steps)
    rewards = [
        window_reward(histories[i], steps, i, window, checkpoints[i])
        for i in range(len(checkpoints))
    ]
    return CheckpointRewards(tuple(steps), tuple(rewards), chosen, "trainer_state.json", window)


def checkpoint_step(name: str) -> int | None:
    """The ``N`` of a folder named ``checkpoint-N`` (the Trainer's naming), else None."""
    match = re.fullmatch(r"checkpoint-(\d+)", Path(name).name)
    return int(match.group(1)) if match else None


def pick_reward_key(history: Sequence[dict[str, Any]]) -> str:
    """The reward logged in ``history``: ``reward`` when present, else the only
    ``rewards/...`` key (standard deviations aside); :class:`SparksError` otherwise."""
    found = _candidates(history)
    if "reward" in found:
        return "reward"
    if len(found) == 1:
        return found[0]
    if not found:
        keys = sorted({k for entry in history for k in entry} - {"step", "epoch"})
        raise SparksError(
            "trainer_state.json logs no reward (keys: "
            f"{', '.join(keys[:12]) or 'none'}); name one with --reward-key, or "
            "pass --rewards FILE"
        )
    raise SparksError(
        f"trainer_state.json logs several rewards ({', '.join(found)}); pick one with --reward-key"
    )


def window_reward(
    points: Sequence[Point], steps: Sequence[int | None], index: int, window: str, name: str
) -> float:
    """Checkpoint ``index``'s reward from logged ``points``: the mean of the values after the
    previous checkpoint's step up to its own (``since-previous``), or the last value at or
    before its step (``last``)."""
    step = steps[index]
    if step is None:
        raise SparksError(f"checkpoint {name} has no step")
    previous = steps[index - 1] if index > 0 else None
    if window == "last":
        values = [value for at, value in points if at <= step][-1:]
    else:
        values = [
            value for at, value in points if at <= step and (previous is None or at > previous)
        ]
    if not values:
        since = f"after step {previous} " if previous is not None and window != "last" else ""
        raise SparksError(
            f"no reward logged {since}up to step {step} for checkpoint {name}; "
            "use --reward-window last (the last value before it) or --rewards FILE"
        )
    return math.fsum(values) / len(values)


def read_rewards_file(path: Path, key: str = "reward") -> list[Point]:
    """``(step, reward)`` rows of a ``--rewards`` file, by step: CSV with ``step`` and ``key``
    columns, or JSON (a list of objects, or an object with a ``log_history`` list)."""
    if not path.is_file():
        raise SparksError(
            f"--rewards {path} does not exist; give a CSV or JSON file of step and reward"
        )
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SparksError(
                f"--rewards {path} is not valid JSON ({error.msg}, line {error.lineno})"
            ) from None
        rows = data.get("log_history") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SparksError(
                f'--rewards {path}: expected a list of {{"step": N, "{key}": R}} '
                "objects (or an object with such a log_history)"
            )
    else:
        rows = list(csv.DictReader(text.splitlines()))
        if not rows or "step" not in rows[0] or key not in rows[0]:
            raise SparksError(
                f"--rewards {path}: expected a CSV header with 'step' and '{key}' "
                f"columns, found {', '.join(rows[0]) if rows else 'no rows'}"
            )
    points = _points(rows, key, str(path), strict=True)
    if not points:
        raise SparksError(f"--rewards {path} has no rows with a step and a '{key}' value")
    return points


def _from_file(
    checkpoints: Sequence[str], steps: list[int | None], path: Path, key: str, window: str
) -> CheckpointRewards:
    points = read_rewards_file(path, key)
    if all(step is None for step in steps):  # one row per checkpoint, in order
        if len(points) != len(checkpoints):
            raise SparksError(
                f"the checkpoints have no step (no trainer_state.json global_step, no "
                f"checkpoint-N name), and --rewards {path} has {len(points)} rows for "
                f"{len(checkpoints)} checkpoints; give one row per checkpoint, in order"
            )
        return CheckpointRewards(
            tuple(s for s, _ in points),
            tuple(r for _, r in points),
            key,
            f"{path} (one row per checkpoint, in order)",
            window,
        )
    _check_steps(checkpoints, steps)
    rewards = [
        window_reward(points, steps, i, window, checkpoints[i]) for i in range(len(checkpoints))
    ]
    return CheckpointRewards(tuple(steps), tuple(rewards), key, str(path), window)


def _check_steps(checkpoints: Sequence[str], steps: Sequence[int | None]) -> None:
    missing = [name for name, step in zip(checkpoints, steps) if step is None]
    if missing:
        raise SparksError(
            f"no step for {', '.join(missing)}: it needs a trainer_state.json with "
            "global_step or a checkpoint-N folder name"
        )
    given = [step for step in steps if step is not None]
    if any(b <= a for a, b in zip(given, given[1:])):
        raise SparksError(
            f"--checkpoints must be in training order; their steps are {', '.join(map(str, steps))}"
        )


def _trainer_state(name: str) -> dict[str, Any] | None:
    path = Path(name) / "trainer_state.json"
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SparksError(f"{path} is not valid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(state, dict) or not isinstance(state.get("log_history", []), list):
        raise SparksError(
            f"{path}: expected an object with a log_history list, as the Trainer writes"
        )
    return state


def _state_step(state: dict[str, Any] | None, name: str) -> int | None:
    step = None if state is None else state.get("global_step")
    if isinstance(step, int) and not isinstance(step, bool):
        return step
    return checkpoint_step(name)


def _history(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [e for e in (state or {}).get("log_history", []) if isinstance(e, dict)]


def _candidates(history: Sequence[dict[str, Any]]) -> list[str]:
    keys = {k for entry in history for k, v in entry.items() if _number(v) is not None}
    return sorted(
        k for k in keys if k == "reward" or (k.startswith("rewards/") and not k.endswith("/std"))
    )


def _points(
    rows: Sequence[dict[str, Any]], key: str, where: str, strict: bool = False
) -> list[Point]:
    """``(step, value)`` of the rows logging ``key``, sorted by step (stable). ``strict``: a
    row with a missing or non-numeric step or value is an error, not skipped."""
    points = []
    for number, row in enumerate(rows, 1):
        step, value = _number(row.get("step")), _number(row.get(key))
        if step is None or value is None or step != int(step):
            if strict:
                raise SparksError(
                    f"{where}, row {number}: needs a whole 'step' and a finite '{key}', "
                    f"got {row.get('step')!r} and {row.get(key)!r}"
                )
            continue
        points.append((int(step), value))
    if not strict and not points:
        raise SparksError(f"{where}/trainer_state.json logs no '{key}'; check --reward-key")
    return sorted(points, key=lambda point: point[0])


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
