"""Problem sets for the sparks tasks: the Hugging Face Hub by default, local JSONL on request.

Every loader returns a ``datasets.DatasetDict`` with one ``test`` split whose rows share one
schema, so scoring, logs and reports never care where a problem came from:

    problem_id  str   e.g. "2024-I-5", "2022-AMC12A-13", "test/algebra/2584.json"
    problem     str
    answer      str   the gold answer as written ("142", "\\frac{14}{3}")
    number      int   problem number in its contest (MATH-500: its level)
    tier        str   from harness_ext.tiers
    source      str   "hub:<dataset id>" or the local file it was read from

Local files: set ``SPARKS_DATA_DIR`` (or pass ``--metadata '{"data_dir": "..."}'``) to a folder
holding ``amc.jsonl``, ``aime.jsonl`` and ``math500.jsonl`` shaped like the project's
``shared/data``; the tasks then never touch the network.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

from harness_ext.errors import SparksError, install_excepthook
from harness_ext.tiers import tier_for_level, tier_for_number

DATA_DIR_ENV = "SPARKS_DATA_DIR"

HUB_AMC = "AI-MO/aimo-validation-amc"
HUB_AIME24 = "HuggingFaceH4/aime_2024"
HUB_AIME25 = "opencompass/AIME2025"
HUB_MATH500 = "HuggingFaceH4/MATH-500"

AMC_URL = re.compile(r"/(\d{4})_AMC_(\d+)([AB])_Problems/Problem_(\d+)$")
AIME_URL = re.compile(r"/(\d{4})_AIME_(I{1,2})_Problems/Problem_(\d+)$")

Row = dict[str, Any]
install_excepthook()


# ---------------------------------------------------------------- task entry points
# lm-eval calls `custom_dataset(**metadata, **dataset_kwargs)`; metadata carries unrelated keys
# (version, config_source, ...) so these take **options and read only `data_dir`.

def load_amc(**options: Any):
    """AMC 2022-2023 (the 83 problems of AI-MO/aimo-validation-amc)."""
    return _load("amc.jsonl", options, local=_local_amc, hub=_hub_amc, hub_name=HUB_AMC)


def load_aime24(**options: Any):
    """AIME 2024, exams I and II (30 problems)."""
    return _load("aime.jsonl", options, local=lambda path: _local_aime(path, 2024),
                 hub=_hub_aime24, hub_name=HUB_AIME24)


def load_aime25(**options: Any):
    """AIME 2025, exams I and II (30 problems)."""
    return _load("aime.jsonl", options, local=lambda path: _local_aime(path, 2025),
                 hub=_hub_aime25, hub_name=HUB_AIME25)


def load_math500(**options: Any):
    """MATH-500 (HuggingFaceH4/MATH-500)."""
    return _load("math500.jsonl", options, local=_local_math500, hub=_hub_math500,
                 hub_name=HUB_MATH500)


# ---------------------------------------------------------------- shared machinery

def data_dir(options: dict[str, Any]) -> Path | None:
    """The local data folder, from ``--metadata data_dir`` or ``$SPARKS_DATA_DIR``."""
    folder = options.get("data_dir") or os.environ.get(DATA_DIR_ENV)
    return Path(folder).expanduser() if folder else None


def _load(file_name: str, options: dict[str, Any], *, local: Callable[[Path], list[Row]],
          hub: Callable[[], list[Row]], hub_name: str):
    import datasets

    folder = data_dir(options)
    if folder is not None:
        path = folder / file_name
        if not path.is_file():
            raise SparksError(
                f"{DATA_DIR_ENV} is set to {folder}, but {path} does not exist. Put "
                f"amc.jsonl, aime.jsonl and math500.jsonl there (shaped like the project's "
                f"shared/data), or unset {DATA_DIR_ENV} to load {hub_name} from the Hugging "
                f"Face Hub."
            )
        rows = local(path)
    else:
        try:
            rows = hub()
        except SparksError:
            raise
        except Exception as error:  # network, auth, offline mode: one message, both fixes
            raise SparksError(
                f"Could not load {hub_name} from the Hugging Face Hub ({type(error).__name__}: "
                f"{str(error)[:200]}). Either get online access to the Hub, or set "
                f"{DATA_DIR_ENV}=/path/to/folder with amc.jsonl, aime.jsonl and math500.jsonl "
                f"(see the README, 'Offline use')."
            ) from error
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, Row]]:
    """Yield ``(line number, object)`` for each line; malformed lines name file and line."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SparksError(f"{path}:{number}: not valid JSON ({error.msg}). Fix or "
                                  f"remove that line.") from None
            if not isinstance(row, dict):
                raise SparksError(f"{path}:{number}: expected a JSON object per line.")
            missing = [key for key in required if key not in row]
            if missing:
                raise SparksError(f"{path}:{number}: missing field(s) {', '.join(missing)} "
                                  f"(each line needs {', '.join(required)}).")
            yield number, row


def _row(problem_id: str, problem: str, answer: Any, number: int, tier: str,
         source: str) -> Row:
    return {"problem_id": str(problem_id), "problem": str(problem), "answer": _answer(answer),
            "number": int(number), "tier": tier, "source": source}


def _answer(value: Any) -> str:
    """Gold answers as strings; integral floats (the AMC hub set's 142.0) lose their ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _checked(path: Path, number: int, make: Callable[[], Row]) -> Row:
    try:
        return make()
    except (TypeError, ValueError) as error:
        raise SparksError(f"{path}:{number}: {error}. Fix that line.") from None


# ---------------------------------------------------------------- local files

def _local_amc(path: Path) -> list[Row]:
    return [
        _checked(path, number, lambda row=row: _row(
            row["id"], row["problem"], row["answer"], row["number"],
            tier_for_number("amc", int(row["number"])), str(path)))
        for number, row in read_jsonl(path, ("id", "number", "problem", "answer"))
    ]


def _local_aime(path: Path, year: int) -> list[Row]:
    rows = [
        _checked(path, number, lambda row=row: _row(
            row["id"], row["problem"], row["answer"], row["number"],
            tier_for_number("aime", int(row["number"])), str(path)))
        for number, row in read_jsonl(path, ("id", "year", "number", "problem", "answer"))
        if int(row["year"]) == year
    ]
    if not rows:
        raise SparksError(f"{path} has no AIME {year} problems (no line with \"year\": {year}).")
    return rows


def _local_math500(path: Path) -> list[Row]:
    return [
        _checked(path, number, lambda row=row: _row(
            row["id"], row["problem"], row["answer"], row["level"],
            tier_for_level(row["level"]), str(path)))
        for number, row in read_jsonl(path, ("id", "problem", "answer", "level"))
    ]


# ---------------------------------------------------------------- Hugging Face Hub

def _hub_rows(name: str, split: str, config: str | None = None) -> list[Row]:
    import datasets

    return list(datasets.load_dataset(name, config, split=split))


def _hub_amc() -> list[Row]:
    rows = []
    for row in _hub_rows(HUB_AMC, "train"):
        match = AMC_URL.search(row["url"])
        if match is None:
            raise SparksError(f"{HUB_AMC}: cannot read the problem number from url {row['url']}")
        year, level, exam, number = match.groups()
        rows.append(_row(f"{year}-AMC{level}{exam}-{number}", row["problem"], row["answer"],
                         int(number), tier_for_number("amc", int(number)), f"hub:{HUB_AMC}"))
    return rows


def _hub_aime24() -> list[Row]:
    rows = []
    for row in _hub_rows(HUB_AIME24, "train"):
        match = AIME_URL.search(row["url"])
        if match is None:
            raise SparksError(f"{HUB_AIME24}: cannot read the problem number from url {row['url']}")
        year, exam, number = match.groups()
        rows.append(_row(f"{year}-{exam}-{number}", row["problem"], row["answer"], int(number),
                         tier_for_number("aime", int(number)), f"hub:{HUB_AIME24}"))
    return rows


def _hub_aime25() -> list[Row]:
    # Each config holds one exam's 15 problems in order, so the row index is the number.
    rows = []
    for exam in ("I", "II"):
        for index, row in enumerate(_hub_rows(HUB_AIME25, "test", f"AIME2025-{exam}"), start=1):
            rows.append(_row(f"2025-{exam}-{index}", row["question"], row["answer"], index,
                             tier_for_number("aime", index), f"hub:{HUB_AIME25}"))
    return rows


def _hub_math500() -> list[Row]:
    return [
        _row(row["unique_id"], row["problem"], row["answer"], row["level"],
             tier_for_level(row["level"]), f"hub:{HUB_MATH500}")
        for row in _hub_rows(HUB_MATH500, "test")
    ]
