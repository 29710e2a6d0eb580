"""Demonstrations with recoveries: an expert that sometimes acts at random (DART-style noise).

Behaviour cloning only ever sees the expert's own states, so a cloned policy that makes one
mistake lands somewhere it never saw. :class:`NoisyExpert` wraps any expert: at each step, with
probability ``epsilon``, it acts a random admissible action instead of the expert's (where the
action space is open, a random one of the env's ``candidate_actions``), and the expert then
carries on from wherever that led. The episodes hold the expert's recoveries from
mistakes. A noisy step is marked ``meta["explore"] = True`` (kept in the trajectory's
:attr:`~agentgym.types.Step.meta`) with the expert's own choice in ``meta["expert_action"]``;
:mod:`agentgym.trainers.sft` never trains on marked steps (they stay in the history as context).

From a config (``agentgym train``'s demonstrator)::

    data.policy={name: noisy, epsilon: 0.2, policy: {name: household_demonstrator, think: false}}

The random choice depends only on ``seed`` and the step's input (goal, observation, number of
past turns), never on the batch it comes in, so collections are reproducible.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentgym.errors import ConfigError
from agentgym.policies.base import Policy
from agentgym.types import ActionOutput, AgentInput

__all__ = ["NoisyExpert", "NoisyExpertConfig", "noisy_expert"]


class NoisyExpert:
    """``policy``'s actions, replaced by a random other admissible action with prob ``epsilon``.

    Args:
        policy: The expert (a demonstrator or an oracle policy).
        epsilon: Probability of a random action at a step; 0 is the expert unchanged.
        seed: Seed of the random choices.
    """

    def __init__(self, policy: Policy, *, epsilon: float = 0.1, seed: int = 0) -> None:
        _check_epsilon(epsilon)
        self.policy, self.epsilon, self.seed = policy, epsilon, seed

    def act(self, batch: Sequence[AgentInput]) -> list[ActionOutput]:
        outputs = self.policy.act(batch)
        for k, (inp, out) in enumerate(zip(batch, outputs)):
            rng = random.Random(self._seed_of(inp))
            pool = inp.admissible_actions or inp.candidate_actions
            others = sorted(set(pool) - {out.action})
            if others and rng.random() < self.epsilon:
                action = rng.choice(others)
                outputs[k] = ActionOutput(text=action, action=action, meta={
                    **out.meta, "explore": True, "expert_action": out.action})
        return outputs

    def _seed_of(self, inp: AgentInput) -> int:
        key = f"{self.seed}\x00{inp.goal}\x00{len(inp.history)}\x00{inp.observation}"
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


@dataclass(kw_only=True)
class NoisyExpertConfig:
    """Config of :func:`noisy_expert` (``policy.name=noisy``)."""

    epsilon: float = 0.1
    """Probability of a random admissible action at a step."""
    seed: int = 0
    """Seed of the random choices."""
    policy: dict[str, Any] = field(default_factory=lambda: {"name": "oracle"})
    """The expert, as any ``policy`` section (``name`` plus its settings)."""

    def __post_init__(self) -> None:
        _check_epsilon(self.epsilon)
        if self.policy.get("name") == "noisy":
            raise ConfigError("policy.policy.name", "noisy cannot wrap itself.",
                              "give the expert, e.g. policy.policy.name=household_demonstrator.")


def noisy_expert(
    *, epsilon: float = 0.1, seed: int = 0, policy: Mapping[str, Any] | None = None
) -> NoisyExpert:
    """A :class:`NoisyExpert` around the expert built from the ``policy`` config section."""
    from agentgym.policies.registry import make_policy

    config = NoisyExpertConfig(epsilon=epsilon, seed=seed,
                               policy=dict(policy or NoisyExpertConfig().policy))
    return NoisyExpert(make_policy(config.policy), epsilon=config.epsilon, seed=config.seed)


def _check_epsilon(epsilon: float) -> None:
    if not 0.0 <= epsilon <= 1.0:
        raise ConfigError("policy.epsilon", f"must be in [0, 1], got {epsilon}.", "use 0.1.")
