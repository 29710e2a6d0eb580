"""The :class:`Policy` protocol and the two baselines every environment supports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from agentgym.errors import AgentGymError, ConfigError
from agentgym.types import ActionOutput, AgentInput

__all__ = ["Policy", "RandomPolicy", "RandomPolicyConfig", "OraclePolicy", "OraclePolicyConfig"]


@runtime_checkable
class Policy(Protocol):
    """Anything that maps a batch of agent inputs to one action each.

    The rollout engine calls :meth:`act` once per step with the inputs of every env still running,
    so implementations should batch (one forward pass, one HTTP batch, ...).
    """

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        """Return one :class:`ActionOutput` per input, in order."""
        ...


_WORDS = ("go", "take", "open", "the", "north", "key", "door", "look", "search", "click", "red", "é")


@dataclass(kw_only=True)
class RandomPolicyConfig:
    """Config of :class:`RandomPolicy`."""

    seed: int = 0
    """Seed of the policy's own random generator."""
    max_words: int = 4
    """Longest random text (in words) where the action space is open."""

    def __post_init__(self) -> None:
        if self.max_words < 1:
            raise ConfigError("policy.max_words", f"must be >= 1, got {self.max_words}.", "use 4.")


class RandomPolicy:
    """Picks uniformly among the admissible actions, or emits random words when there are none.

    Args:
        seed: Seed of the policy's random generator (same seed and same inputs ⇒ same actions).
        max_words: Longest random text where the action space is open.
    """

    def __init__(self, *, seed: int = 0, max_words: int = 4) -> None:
        RandomPolicyConfig(seed=seed, max_words=max_words)
        self.rng = np.random.default_rng(seed)
        self.max_words = max_words

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        out = []
        for inp in batch:
            if inp.admissible_actions:
                action = inp.admissible_actions[int(self.rng.integers(len(inp.admissible_actions)))]
            else:
                n = int(self.rng.integers(1, self.max_words + 1))
                action = " ".join(_WORDS[int(i)] for i in self.rng.integers(len(_WORDS), size=n))
            out.append(ActionOutput(text=action, action=action))
        return out


@dataclass(kw_only=True)
class OraclePolicyConfig:
    """Config of :class:`OraclePolicy`."""

    think: bool = False
    """Write ReAct text (``Thought: ...`` then ``Action: ...``) as the raw output, for
    demonstrations; the thought is the env's ``expert_thought`` where it gives one."""


class OraclePolicy:
    """Follows the environment's expert (``info["expert_action"]``): the upper baseline and the
    source of demonstrations for behaviour cloning and InversePRM.

    Args:
        think: Make the raw output ReAct text with a thought, as a model should write it.
    """

    def __init__(self, *, think: bool = False) -> None:
        self.think = think

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        from agentgym.prompts import ReActFormat

        fmt = ReActFormat(think=True)
        out = []
        for inp in batch:
            if inp.expert_action is None:
                raise AgentGymError(
                    f"Environment {inp.env_id!r} gives no expert action (info['expert_action']), "
                    "so the oracle policy cannot act in it. Fix: use a policy other than "
                    "'oracle' for this env, or implement Task.oracle()."
                )
            action = inp.expert_action
            text = fmt.render_action(action, inp.expert_thought or "") if self.think else action
            out.append(ActionOutput(text=text, action=action))
        return out
