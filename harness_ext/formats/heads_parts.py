"""The parts of ``heads.json`` (``sparks-heads/1``), as pydantic models: heads, circuits,
edges, settings, the checkpoint series and stability. :class:`harness_ext.formats.heads.HeadsFile`
assembles them into the whole file and re-exports them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Appearance",
    "Change",
    "Checkpoint",
    "CircuitStats",
    "Circuits",
    "CompensatoryHead",
    "Correlation",
    "Dynamics",
    "Edge",
    "Edges",
    "EmergentHead",
    "Flag",
    "Grid",
    "Head",
    "HeadEntry",
    "Index",
    "Number",
    "Overlap",
    "Part",
    "Settings",
    "Stability",
    "Step",
    "Transition",
]

Index = Annotated[int, Field(strict=True, ge=0)]  # a layer, head, size or count: not True, not "3"
Step = Annotated[int, Field(strict=True)]
Number = Annotated[float, Field(strict=True)]  # a JSON number (ints too; NaN as Python writes it)
Flag = Annotated[bool, Field(strict=True)]
Grid = tuple[tuple[Number | None, ...], ...]  # layer x head


class Part(BaseModel):
    """The base of every part: unknown keys kept, frozen, NaN and inf written as JSON does."""

    # extra="allow": keys that a later sparks-heads/1 writer adds are kept and written back;
    # frozen: a file read is a value. Lists are tuples, so nothing inside changes either.
    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        populate_by_name=True,
        protected_namespaces=(),
        ser_json_inf_nan="constants",
    )


class Head(Part):
    """One attention head, 0-based."""

    layer: Index
    head: Index

    @property
    def pair(self) -> tuple[int, int]:
        return (self.layer, self.head)


class EmergentHead(Head):
    """An ``emergent`` entry (rank order); ``effect`` is null without a base."""

    effect: Number | None
    importance_post: Number


class CompensatoryHead(Head):
    """A ``compensatory`` entry (``--compare-thinking``: the think-off circuit only)."""

    effect: Number | None
    importance_base: Number | None


class HeadEntry(Head):
    """A ``heads`` entry: every layer and head of the model."""

    importance_post: Number
    importance_base: Number | None
    effect: Number | None
    in_circuit_post: Flag
    in_circuit_base: Flag | None
    emergent: Flag
    compensatory: Flag | None = None  # --compare-thinking only


class CircuitStats(Part):
    size: Index
    mass: Number | None  # the share of the model's total importance (null when that is 0)


class Overlap(Part):
    both: Index
    post_only: Index
    base_only: Index
    jaccard_index: Number | None


class Circuits(Part):
    """``circuits``: the rule in words, each circuit's size and mass, their overlap."""

    rule: str
    post: CircuitStats
    base: CircuitStats | None
    overlap: Overlap | None


class Edge(Head):
    to: str  # "attn L5", "mlp L5" or "logits"
    score: Number


class Edges(Part):
    """``edges`` (``--edges``): each model's strongest edges and the rule that kept them."""

    rule: str
    top_n: Index
    threshold: Number
    post: tuple[Edge, ...]
    base: tuple[Edge, ...] | None


class Settings(Part):
    """``settings``: how the file was made. Declared in the writer's order (written back in
    it); typed where a reader uses the value, the rest kept as written."""

    model_post: str | None = None
    model_base: str | None = None
    tasks: Any = None
    limit: Any = None
    problem_ids: Any = None
    skipped: Any = None
    opening_tokens: Any = None
    opening_lengths: Any = None
    ig_steps: Any = None
    batch_size: Any = None
    method: Any = None
    level: Any = None
    openings: Any = None
    corrupt: Any = None
    circuit: dict[str, Any] | None = None
    circuit_size: Index | None = None
    chat_template_args: Any = None
    base_chat_template_args: Any = None
    metric: Any = None
    dtype: Any = None
    versions: Any = None
    compare: str | None = None  # "thinking" with --compare-thinking
    roles: dict[str, str] | None = None  # what post and base stand for
    checkpoints: tuple[str, ...] | None = None  # --checkpoints

    def to_data(self) -> dict[str, Any]:
        """The keys as the file has them (a key it lacks stays absent)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Checkpoint(Part):
    """A ``checkpoints`` entry; ``step`` and what follows were added with the rewards."""

    model: str
    emergent: tuple[EmergentHead, ...]
    circuit_post: tuple[Head, ...]
    circuit_base: tuple[Head, ...] | None
    importance_post: Grid | None
    importance_base: Grid | None
    step: Step | None = None
    reward: Number | None = None
    circuit_size: Index | None = None
    since: str | None = None
    heads_appearing: tuple[Head, ...] | None = None
    heads_surviving: tuple[Head, ...] | None = None
    heads_pruned: tuple[Head, ...] | None = None


class Transition(Part):
    from_: str = Field(alias="from")
    to: str
    appeared: tuple[Head, ...]
    disappeared: tuple[Head, ...]


class Appearance(Head):
    """A head emergent in some checkpoint: one flag per checkpoint."""

    emergent: tuple[Flag, ...]
    in_circuit_post: tuple[Flag, ...]
    first_emergent: Index
    last_emergent: Index


class Change(Part):
    from_: str = Field(alias="from")
    to: str
    from_step: Step | None
    to_step: Step | None
    reward_change: Number | None
    circuit_change: Number


class Correlation(Part):
    rho: Number | None
    p: Number | None
    n: Index
    method: str | None = None
    note: str | None = None


class Dynamics(Part):
    """``dynamics``: circuit change against reward change over the series."""

    circuit_change: str
    reward_change: str
    reward_key: str | None = None
    reward_source: str | None = None
    reward_window: str | None = None
    changes: tuple[Change, ...]
    spearman: Correlation


class Stability(Part):
    """``stability`` (``sparks discover --bootstrap B``): the definition of a stable head, the
    circuits' and the emergent set's Jaccard stability, and the stable emergent heads."""

    resamples: Index
    definition: str
    threshold: Number
    jaccard_circuit_post: Number | None
    jaccard_circuit_base: Number | None
    jaccard_emergent: Number | None
    stable_emergent: tuple[Head, ...]
