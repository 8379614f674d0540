"""Rows from the Hugging Face Hub (the default when no local data folder is named): each data
set's own field names read into the shared schema (:mod:`.rows`); a row of another shape, or a
repeated id, names the data set and the row."""

from __future__ import annotations

import re

from harness_ext.errors import SparksError
from harness_ext.tiers import tier_for_level, tier_for_number

from .controls import gpqa_clean, gpqa_row, triviaqa_row
from .rows import Row, checked_integer, hub_checked, make_row, unique_ids

HUB_AMC = "AI-MO/aimo-validation-amc"
HUB_AIME24 = "HuggingFaceH4/aime_2024"
HUB_AIME25 = "opencompass/AIME2025"
HUB_MATH500 = "HuggingFaceH4/MATH-500"
HUB_GPQA = "Idavidrein/gpqa"  # gated: its terms must be accepted on the Hub
GPQA_CONFIG = "gpqa_diamond"
HUB_TRIVIAQA = "mandarjoshi/trivia_qa"  # lm-eval's triviaqa task: this data set, config, split
TRIVIAQA_CONFIG = "rc.nocontext"
HUB_ACCESS = {
    HUB_GPQA: f"{HUB_GPQA} is gated: accept its terms at https://huggingface.co/datasets/"
    f"{HUB_GPQA} and log in (`huggingface-cli login` or HF_TOKEN)",
}

AMC_URL = re.compile(r"/(\d{4})_AMC_(\d+)([AB])_Problems/Problem_(\d+)$")
AIME_URL = re.compile(r"/(\d{4})_AIME_(I{1,2})_Problems/Problem_(\d+)$")


def hub_rows(name: str, split: str, config: str | None = None) -> list[Row]:
    """The rows of one split of a Hub data set (the one place that calls ``datasets``)."""
    import datasets

    return list(datasets.load_dataset(name, config, split=split))


def hub_amc() -> list[Row]:
    """AMC 2022-2023: the problem id and number are read from each row's AoPS url."""
    rows = []
    for index, row in enumerate(hub_rows(HUB_AMC, "train")):
        match = AMC_URL.search(row["url"])
        if match is None:
            raise SparksError(f"{HUB_AMC}: cannot read the problem number from url {row['url']}")
        year, level, exam, number = match.groups()
        with hub_checked(HUB_AMC, index):
            rows.append(
                make_row(
                    f"{year}-AMC{level}{exam}-{number}",
                    row["problem"],
                    row["answer"],
                    int(number),
                    tier_for_number("amc", int(number)),
                    f"hub:{HUB_AMC}",
                )
            )
    return rows


def hub_aime24() -> list[Row]:
    """AIME 2024: the problem id and number are read from each row's AoPS url."""
    rows = []
    for index, row in enumerate(hub_rows(HUB_AIME24, "train")):
        match = AIME_URL.search(row["url"])
        if match is None:
            raise SparksError(f"{HUB_AIME24}: cannot read the problem number from url {row['url']}")
        year, exam, number = match.groups()
        with hub_checked(HUB_AIME24, index):
            rows.append(
                make_row(
                    f"{year}-{exam}-{number}",
                    row["problem"],
                    row["answer"],
                    int(number),
                    tier_for_number("aime", int(number)),
                    f"hub:{HUB_AIME24}",
                )
            )
    return rows


def hub_aime25() -> list[Row]:
    """AIME 2025: each config holds one exam's 15 problems in order, so the row index is the
    number."""
    rows = []
    for exam in ("I", "II"):
        for index, row in enumerate(hub_rows(HUB_AIME25, "test", f"AIME2025-{exam}"), start=1):
            with hub_checked(HUB_AIME25, index):
                rows.append(
                    make_row(
                        f"2025-{exam}-{index}",
                        row["question"],
                        row["answer"],
                        index,
                        tier_for_number("aime", index),
                        f"hub:{HUB_AIME25}",
                    )
                )
    return rows


def hub_math500() -> list[Row]:
    """MATH-500: the level is the number and gives the tier."""
    rows = []
    for index, row in enumerate(hub_rows(HUB_MATH500, "test")):
        with hub_checked(HUB_MATH500, index):
            rows.append(
                make_row(
                    row["unique_id"],
                    row["problem"],
                    row["answer"],
                    row["level"],
                    tier_for_level(checked_integer(row["level"], "level")),
                    f"hub:{HUB_MATH500}",
                )
            )
    return rows


def hub_gpqa() -> list[Row]:
    """GPQA diamond (gated), its text cleaned as lm-eval's gpqa task cleans it."""
    rows = []
    for index, row in enumerate(hub_rows(HUB_GPQA, "train", GPQA_CONFIG), start=1):
        with hub_checked(HUB_GPQA, index):
            rows.append(
                gpqa_row(
                    row["Record ID"],
                    gpqa_clean(row["Question"]),
                    gpqa_clean(row["Correct Answer"]),
                    [gpqa_clean(row[f"Incorrect Answer {n}"]) for n in (1, 2, 3)],
                    row.get("High-level domain") or "",
                    index,
                    f"hub:{HUB_GPQA}",
                )
            )
    return unique_ids(HUB_GPQA, rows)


def hub_triviaqa() -> list[Row]:
    """TriviaQA as lm-eval's triviaqa task reads it (rc.nocontext, validation split)."""
    rows = []
    for index, row in enumerate(hub_rows(HUB_TRIVIAQA, "validation", TRIVIAQA_CONFIG), start=1):
        with hub_checked(HUB_TRIVIAQA, index):
            rows.append(
                triviaqa_row(
                    row["question_id"],
                    row["question"],
                    row["answer"]["value"],
                    list(row["answer"]["aliases"]),
                    index,
                    f"hub:{HUB_TRIVIAQA}",
                )
            )
    return unique_ids(HUB_TRIVIAQA, rows)
