"""Find the final answer in a model's (possibly very long, possibly hostile) response.

The rules, each with an example, are in ``docs/answers.md`` ("Extraction"); in short, in order:

1. the last complete ``\\boxed{...}`` / ``\\fbox{...}``, with the boxes right before it that are
   joined to it by commas, "and", "or" or spacing (``\\boxed{2}, \\boxed{3}``): its *parts*;
2. a later answer phrase ("the answer is", "Answer:", "the answer should be", "réponse", "答案",
   "الإجابة", "उत्तर", ...) that states a value wins over the box; one whose value is not an
   answer ("so our answer is correct", "the answer is within \\boxed{}"), that checks an answer
   or that supposes one ("if the answer is 90, ...") does not. A last phrase followed by
   nothing or by a description ("**Final Answer**\\nThe largest possible value of \\(x\\)",
   "... The") leaves the answer stated before it ("so 11/2 is the answer");
3. a closing sentence that concludes with a value (``... so t = 24. $180 + 24 = 204$.``,
   ``因此，...是192公斤。``, ``Donc, il a déjà 79 g de cire.``);
4. a math span that ends the response; 5. a short one-line response that is not prose.

This module orders those steps; each lives in its own module: boxes (:mod:`.boxes`, step 1),
answer phrases (:mod:`.phrases`, step 2), the last resorts (:mod:`.closing`, steps 3 to 5) and
the value a piece of text states (:mod:`.values`, shared by steps 2 to 5).

The cut: only the last :data:`MAX_RESPONSE_CHARS` characters are read, from the first line
break in the first :data:`CUT_ALIGN_CHARS` characters of that window when there is one; every
step is linear in the length of that window. A number glued to a word or in a path (``x0``,
``test0``, ``/home/u0``, ``pytest-0/``) is never an answer found in free text; box contents are
taken as written. A box left open in the last :data:`.boxes.UNCLOSED_TAIL_CHARS` characters
(a trace cut at ``\\boxed{``) is cut off first, so the answer phrase before it counts. A gold answer is
read like a response when it is a whole solution (:func:`is_solution`: a box, a GSM8K
``#### 42`` line, or long text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .boxes import before_unclosed_box, last_box_group
from .closing import final_sentence, last_math, whole_response
from .phrases import last_marker, marker_answer, states_nothing
from .values import HOPE, plausible

__all__ = [
    "CUT_ALIGN_CHARS",
    "MAX_RESPONSE_CHARS",
    "Found",
    "cut_response",
    "extract_answer",
    "find_answer",
    "is_solution",
]

MAX_RESPONSE_CHARS = 100_000  # the end of a response that is read
CUT_ALIGN_CHARS = 1_000
_MAX_LOOK_BEFORE = 2  # answer phrases that state no value, looked before (see find_answer)


@dataclass(frozen=True)
class Found:
    """An extracted final answer: its text as written and, for joined boxes, the boxes."""

    text: str
    parts: tuple[str, ...]
    how: str  # "box", "marker", "sentence", "math", "whole"


_CHAT_TOKEN = re.compile(r"<\|[A-Za-z_]{1,30}\|>|</s>|<eos>")


def extract_answer(response: str) -> Optional[str]:
    """The model's final answer as written (without the box/delimiters), or None."""
    found = find_answer(response)
    return found.text if found else None


def find_answer(response: str) -> Optional[Found]:
    """The final answer of ``response`` with the boxes it is made of (see the module doc)."""
    if not isinstance(response, str) or not response.strip():
        return None
    text = before_unclosed_box(_strip_chat_tail(cut_response(response)))
    for _ in range(_MAX_LOOK_BEFORE + 1):
        found, before = _find(text)
        if found is not None or before is None:
            return found
        text = before  # the last answer phrase states nothing: the value stated before it
    return None


def _find(text: str) -> tuple[Optional[Found], Optional[str]]:
    """The final answer of ``text``, or ``(None, text before its last answer phrase)`` when
    that phrase states no value (``**Final Answer**\\nThe``), else ``(None, None)``."""
    box = last_box_group(text)
    marker = last_marker(text, box[1] if box else 0)  # only a later phrase can beat a box
    if marker is not None:
        if states_nothing(text, marker):
            return None, text[: marker.start()].rstrip(" \t\r\n*_#")
        answer = marker_answer(text, marker, after_box=box is not None)
        if answer:
            return Found(answer, (answer,), "marker"), None
    if box:
        return Found(", ".join(box[0]), tuple(box[0]), "box"), None
    for how, finder in (
        ("sentence", final_sentence),
        ("math", last_math),
        ("whole", whole_response),
    ):
        answer = plausible(finder(text))
        if answer:
            return Found(answer, (answer,), how), None
    return None, None


_GSM8K_ANSWER = re.compile(r"(?:^|\n)####[ \t]*\S")
_SOLUTION_LINES_CHARS = 200  # a gold this long on several lines is a whole solution
_SOLUTION_CHARS = 400  # a gold this long is one, on any number of lines


def is_solution(gold: str) -> bool:
    """Whether a gold answer is a whole solution, read like a response: it holds a box, has a
    GSM8K answer line (``...\\n#### 42``), or is long (see :data:`_SOLUTION_CHARS`)."""
    stripped = gold.strip()
    return bool(
        "\\boxed" in stripped
        or "\\fbox" in stripped
        or _GSM8K_ANSWER.search(stripped)
        or (len(stripped) > _SOLUTION_LINES_CHARS and "\n" in stripped)
        or len(stripped) > _SOLUTION_CHARS
    )


def cut_response(response: str, limit: int = MAX_RESPONSE_CHARS) -> str:
    """The last ``limit`` characters of ``response``, from a line start when one is near the cut."""
    if len(response) <= limit:
        return response
    start = len(response) - limit
    newline = response.find("\n", start, start + CUT_ALIGN_CHARS)
    return response[newline + 1 if newline >= 0 else start :]


def _strip_chat_tail(text: str) -> str:
    """Cut a chat-template token (``<|im_start|>user``...) that ends a raw generation, and a
    closing "I hope it is correct."."""
    m = _CHAT_TOKEN.search(text, max(0, len(text) - 300))
    if m and text[: m.start()].strip():
        text = text[: m.start()]
    tail_start = max(0, len(text) - 100)
    return text[:tail_start] + HOPE.sub("", text[tail_start:])
