"""Text spaces for agent environments.

Gymnasium's :class:`gymnasium.spaces.Text` only admits a fixed character set, but agents emit any
unicode. :class:`Unicode` admits every ``str`` up to a length, so ``check_env`` and the
observation/action contracts hold for real LLM output. :class:`TextList` is a variable-length list
of such strings (the admissible actions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gymnasium import spaces

__all__ = ["Unicode", "TextList", "observation_space", "MAX_TEXT", "MAX_ACTIONS"]

MAX_TEXT = 100_000
"""Longest string an agentgym text space admits (observations are truncated to it)."""

MAX_ACTIONS = 4096
"""Most admissible actions an observation may list."""

# Printable samples: ASCII letters, punctuation, a few accented and non-Latin characters, emoji.
_SAMPLE_ALPHABET = list(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?'\"()-_/"
) + ["é", "ß", "ж", "中", "文", "🙂", "\n", "\t"]


class Unicode(spaces.Space[str]):
    """Any unicode string of at most ``max_length`` characters.

    Args:
        max_length: Longest string admitted.
        min_length: Shortest string admitted.
        seed: Seed of the space's own sampler.
    """

    def __init__(self, max_length: int = MAX_TEXT, *, min_length: int = 0, seed: int | None = None):
        if not 0 <= min_length <= max_length:
            raise ValueError(f"Need 0 <= min_length <= max_length, got {min_length}, {max_length}.")
        self.max_length = max_length
        self.min_length = min_length
        super().__init__(dtype=str, seed=seed)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """A random string; ``mask``/``probability`` are not supported for open text."""
        if mask is not None or probability is not None:
            raise ValueError("Unicode.sample takes no mask or probability.")
        upper = min(self.max_length, max(self.min_length, 32))
        length = int(self.np_random.integers(self.min_length, upper + 1))
        picks = self.np_random.integers(0, len(_SAMPLE_ALPHABET), size=length)
        return "".join(_SAMPLE_ALPHABET[i] for i in picks)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Unicode(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Unicode)
            and other.max_length == self.max_length
            and other.min_length == self.min_length
        )

    def to_jsonable(self, sample_n: Sequence[str]) -> list[str]:
        return list(sample_n)

    def from_jsonable(self, sample_n: Sequence[str]) -> list[str]:
        return list(sample_n)


class TextList(spaces.Space[tuple]):
    """A tuple of at most ``max_items`` unicode strings (e.g. the admissible actions).

    Lists are accepted too, so envs may build observations with either.
    """

    def __init__(
        self, max_items: int = MAX_ACTIONS, *, item: Unicode | None = None, seed: int | None = None
    ):
        self.max_items = max_items
        self.item = item or Unicode(1000)
        super().__init__(dtype=None, seed=seed)

    def seed(self, seed: int | None = None) -> int | list[int]:  # keep the item sampler in step
        seeds = super().seed(seed)
        self.item.seed(int(self.np_random.integers(2**31)))
        return seeds

    def sample(self, mask: Any = None, probability: Any = None) -> tuple[str, ...]:
        if mask is not None or probability is not None:
            raise ValueError("TextList.sample takes no mask or probability.")
        n = int(self.np_random.integers(0, min(self.max_items, 8) + 1))
        return tuple(self.item.sample() for _ in range(n))

    def contains(self, x: Any) -> bool:
        return (
            isinstance(x, (tuple, list))
            and len(x) <= self.max_items
            and all(self.item.contains(v) for v in x)
        )

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"TextList(max_items={self.max_items})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TextList)
            and other.max_items == self.max_items
            and other.item == self.item
        )

    def to_jsonable(self, sample_n: Sequence[Sequence[str]]) -> list[list[str]]:
        return [list(s) for s in sample_n]

    def from_jsonable(self, sample_n: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        return [tuple(s) for s in sample_n]


def observation_space(max_text: int = MAX_TEXT, max_actions: int = MAX_ACTIONS) -> spaces.Dict:
    """The observation space every agentgym text env uses.

    Keys: ``text`` (what the agent sees now), ``goal`` (the instruction), ``admissible_actions``
    (empty where the action space is open) and ``last_action_error`` (empty when all went well).
    """
    return spaces.Dict(
        {
            "text": Unicode(max_text),
            "goal": Unicode(max_text),
            "admissible_actions": TextList(max_actions),
            "last_action_error": Unicode(max_text),
        }
    )

